# Workshop exercise 02: generated from stages/02/pytest_aioloop/__init__.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 02`).
"""pytest-aioloop, rebuilt one stage at a time; this is stage 02."""
