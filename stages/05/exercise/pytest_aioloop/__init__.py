# Workshop exercise 05: generated from stages/05/pytest_aioloop/__init__.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 05`).
"""pytest-aioloop, rebuilt one stage at a time; this is stage 05."""

from pytest_aioloop.plugin import fixture

__all__ = ["fixture"]
