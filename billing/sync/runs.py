"""Starting, resuming and recording reconciliation passes (`ReconciliationRun` rows)."""

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from billing.models import PassKind, PassState, ReconciliationRun

logger = logging.getLogger(__name__)


class PassInProgress(Exception):
    """Another pass of this kind is running and still making progress: try again later."""


def begin_pass(
    kind: PassKind,
    *,
    resume: bool,
    new_since: Callable[[], datetime | None] = lambda: None,
) -> ReconciliationRun:
    """Resume the latest pass of this kind if it did not finish (and `resume`), else start one.

    `new_since` gives a new pass its lower bound. Raises PassInProgress when
    the latest pass is still running.
    """
    with transaction.atomic():
        latest = (
            ReconciliationRun.objects.select_for_update()
            .filter(kind=kind)
            .order_by("-started_at", "-pk")
            .first()
        )
        if latest is not None and latest.state == PassState.RUNNING and not latest.is_stalled():
            raise PassInProgress(
                f"{kind} pass #{latest.pk} is running (last progress "
                f"{latest.heartbeat_at:%Y-%m-%d %H:%M:%S %Z}); try again once it has finished"
            )
        now = timezone.now()
        if resume and latest is not None and latest.state != PassState.FINISHED:
            latest.state = PassState.RUNNING
            latest.heartbeat_at = now
            latest.error = ""
            latest.save(update_fields=["state", "heartbeat_at", "error"])
            logger.info("resuming reconciliation pass", extra={"run": latest.pk, "kind": kind})
            return latest
        return ReconciliationRun.objects.create(
            kind=kind, since=new_since(), started_at=now, heartbeat_at=now
        )


def describe_error(error: BaseException) -> str:
    """What went wrong, for the run's `error` field: the type and message, no data."""
    return f"{type(error).__name__}: {error}"[:2000]
