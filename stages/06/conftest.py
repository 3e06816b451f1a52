pytest_plugins = ["pytest_aioloop.plugin"]
