# Workshop exercise 06: generated from stages/06/pytest_aioloop/__init__.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 06`).
"""pytest-aioloop, rebuilt one stage at a time; this is stage 06."""

from pytest_aioloop.plugin import fixture

__all__ = ["fixture"]
