"""Background tasks: thin wrappers that run one pending sync each."""

import structlog
from django.tasks import task
from django.tasks.base import TaskContext

from billing.models import SyncKind
from billing.sync.runner import run_pending_sync_recorded


@task(takes_context=True)
def sync_object(context: TaskContext, kind: str, zuora_id: str) -> dict[str, str | None]:
    """Fetch one Zuora object and reconcile the local copy with it.

    Returns `{"outcome": …, "claimed_at": …}`: what the run did, and when it
    claimed the object (its fetch came after; None when it claimed nothing).
    """
    with structlog.contextvars.bound_contextvars(task_id=str(context.task_result.id)):
        return run_pending_sync_recorded(kind=SyncKind(kind), zuora_id=zuora_id).as_result()
