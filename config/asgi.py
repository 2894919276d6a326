"""ASGI entry point."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from config.request_guard import GuardedASGIHandler  # noqa: E402  (needs the apps loaded)

application = GuardedASGIHandler()

from config.checks import fail_fast_on_misconfiguration  # noqa: E402

fail_fast_on_misconfiguration()

from config.heap import settle_web_process  # noqa: E402

# Last: the checks above may refuse to start; what is left is kept until exit.
settle_web_process()
