"""Background tasks: thin wrappers that run one pending sync each."""

import structlog
from django.tasks import task
from django.tasks.base import TaskContext

from billing.models import SyncKind
from billing.sync.runner import run_pending_sync_recorded


@task(takes_context=True)
def sync_object(context: TaskContext, kind: str, zuora_id: str) -> dict[str, object]:
    """Fetch one Zuora object and reconcile the local copy with it.

    Returns `{"outcome": …, "claimed_at": …, "covered": […]}`: what the run
    did, when it claimed the object (its fetch came after; None when it
    claimed nothing), and the contacts whose syncs an account's run
    completed with its fetch.
    """
    with structlog.contextvars.bound_contextvars(task_id=str(context.task_result.id)):
        return run_pending_sync_recorded(kind=SyncKind(kind), zuora_id=zuora_id).as_result()
