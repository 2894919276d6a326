"""WSGI entry point (granian serves it in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.request_guard import guard_wsgi

application = guard_wsgi(get_wsgi_application())

from config.checks import fail_fast_on_misconfiguration  # noqa: E402

fail_fast_on_misconfiguration()
