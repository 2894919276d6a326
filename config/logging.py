"""Structured logs: one JSON object per line, correlation ids, personal data redacted.

Every logger (Django's, httpx's, ours) goes through structlog's formatter, so
`logger.info("sync done", extra={"kind": ..., "zuora_id": ...})` becomes one
JSON line with those fields, the request or task id bound in the context,
and anything that looks like personal data replaced.
"""

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values are personal data or secrets wherever they appear.
REDACTED_KEYS = re.compile(
    r"(e-?mail|first_?name|last_?name|nick_?name|full_?name|phone|fax|address|city|county|"
    r"postal|zip|password|secret|token|authorization|cookie|api_?key)",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[A-Za-z]{2,}")
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    # The search for an address is slow on long words (it tries every start);
    # most values have no "@" to begin with.
    if isinstance(value, str) and "@" in value:
        return EMAIL.sub("[email]", value)
    return value


def redact_personal_data(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Drop values of personal or secret keys, and mask email addresses anywhere."""
    for key in list(event):
        if key != "event" and REDACTED_KEYS.search(key):
            event[key] = REDACTED
        else:
            event[key] = redact(event[key])
    return event


class RefusedCalloutFilter(logging.Filter):
    """Keep Django's 4xx warnings for callouts out of the log.

    The callout views log every refusal themselves, with its reason; and with
    Zuora's default (non-preemptive) Basic authentication every callout's
    first request is answered 401 by design, which would otherwise add a
    warning per callout.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        request = getattr(record, "request", None)
        match = getattr(request, "resolver_match", None)
        return not (
            isinstance(status, int)
            and status < 500
            and match is not None
            and "callouts" in match.namespaces
        )


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(*, level: str, json: bool) -> dict[str, Any]:
    """A `LOGGING` dict for Django: everything through structlog, JSON or console."""
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": SHARED_PROCESSORS,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    redact_personal_data,
                    renderer,
                ],
            },
        },
        "filters": {"refused_callouts": {"()": RefusedCalloutFilter}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # httpx logs every request with its full URL; our client logs the
            # path template instead.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            # django.tasks logs each task's start and success at INFO: two lines
            # per sync beside the sync's own (kind, object, outcome, duration),
            # about 3 % of a worker's CPU. A failed task is still logged (ERROR).
            "django.tasks": {"level": "WARNING"},
            "django.request": {"filters": ["refused_callouts"]},
        },
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
