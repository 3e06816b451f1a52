# Workshop exercise 03: generated from stages/03/pytest_aioloop/__init__.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 03`).
"""pytest-aioloop, rebuilt one stage at a time; this is stage 03."""
