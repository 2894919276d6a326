"""System checks that refuse to start a misconfigured installation.

Django runs them before every management command (migrate, the task worker,
runserver); `config/wsgi.py` and `config/asgi.py` run them at import, since
production servers such as granian do not.
"""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.compatibility)
def check_environment(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """Every environment value that could not be parsed is an error."""
    return [
        checks.Error(message, hint="See the environment table in README.md.", id="config.E001")
        for message in settings.CONFIGURATION_ERRORS
    ]


@checks.register(checks.Tags.security)
def check_secret_key(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    if settings.DEBUG or settings.SECRET_KEY_FROM_ENVIRONMENT:
        return []
    return [
        checks.Error(
            "SECRET_KEY is not set and DEBUG is off.",
            hint=(
                "Set SECRET_KEY to a long random string (for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
                "or set DEBUG=1 on a development machine."
            ),
            id="config.E002",
        )
    ]


@checks.register(checks.Tags.compatibility)
def check_zuora_credentials(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    if not settings.ZUORA_SYNC_ENABLED:
        return []
    missing = [
        name
        for name in ("ZUORA_BASE_URL", "ZUORA_CLIENT_ID", "ZUORA_CLIENT_SECRET")
        if not getattr(settings, name)
    ]
    if not missing:
        return []
    verb = "is" if len(missing) == 1 else "are"
    message = f"Zuora sync is enabled but {', '.join(missing)} {verb} not set."
    hint = (
        "Set them to the OAuth client of your Zuora tenant (or to a running emulator), "
        "or set ZUORA_SYNC_ENABLED=0 to run without syncing."
    )
    if settings.DEBUG:
        # A developer may run the admin without Zuora; production may not.
        return [checks.Warning(message, hint=hint, id="config.W003")]
    return [checks.Error(message, hint=hint, id="config.E003")]


def fail_fast_on_misconfiguration() -> None:
    """Run the checks above and stop the server process with their messages."""
    errors = [
        message
        for message in checks.run_checks(tags=[checks.Tags.compatibility, checks.Tags.security])
        if message.is_serious()
    ]
    if errors:
        raise ImproperlyConfigured(
            "The service is misconfigured:\n" + "\n".join(f"  - {error}" for error in errors)
        )
