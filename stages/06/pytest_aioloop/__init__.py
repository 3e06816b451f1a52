"""pytest-aioloop, rebuilt one stage at a time; this is stage 06."""

from pytest_aioloop.plugin import fixture

__all__ = ["fixture"]
