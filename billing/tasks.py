"""Background tasks: thin wrappers that run one pending sync each."""

from datetime import timedelta

import structlog
from django.conf import settings
from django.tasks import task
from django.tasks.base import TaskContext

from billing.models import SyncKind
from billing.sync.runner import run_pending_sync_recorded


@task(takes_context=True)
def sync_object(
    context: TaskContext, kind: str, zuora_id: str, settling: bool = False
) -> dict[str, object]:
    """Fetch one Zuora object and reconcile the local copy with it.

    `settling`: the object's wait started when this task was enqueued, so it
    is not due before `SYNC_SETTLE_SECONDS` after that (`queue.enqueue_started`).

    Returns `{"outcome": …, "claimed_at": …, "covered": […]}`: what the run
    did, when it claimed the object (its fetch came after; None when it
    claimed nothing), and the contacts whose syncs an account's run
    completed with its fetch.
    """
    with structlog.contextvars.bound_contextvars(task_id=str(context.task_result.id)):
        enqueued_at = context.task_result.enqueued_at
        not_before = (
            enqueued_at + timedelta(seconds=settings.SYNC_SETTLE_SECONDS)
            if settling and enqueued_at is not None
            else None
        )
        return run_pending_sync_recorded(
            kind=SyncKind(kind), zuora_id=zuora_id, not_before=not_before
        ).as_result()
