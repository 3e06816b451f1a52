"""Stage 01: a naive event loop inside each test.

There is no plugin yet. pytest knows nothing about asyncio, so every test
creates an event loop, drives its coroutine with ``run_until_complete`` and
closes the loop itself (see ``test_naive_loop.py`` beside this package).

This module is registered by ``conftest.py`` all the same, so that every
stage is wired the same way and the diff to stage 02 shows only what the
plugin gains.
"""
