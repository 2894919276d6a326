"""WSGI entry point (granian serves it in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.request_guard import guard_wsgi

application = guard_wsgi(get_wsgi_application())

from config.checks import fail_fast_on_misconfiguration  # noqa: E402

fail_fast_on_misconfiguration()

from config.heap import settle_web_process  # noqa: E402

# Last: the checks above may refuse to start; what is left is kept until exit.
settle_web_process()
