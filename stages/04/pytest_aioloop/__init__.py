"""pytest-aioloop, rebuilt one stage at a time; this is stage 04."""
