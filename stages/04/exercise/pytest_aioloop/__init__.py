# Workshop exercise 04: generated from stages/04/pytest_aioloop/__init__.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 04`).
"""pytest-aioloop, rebuilt one stage at a time; this is stage 04."""
