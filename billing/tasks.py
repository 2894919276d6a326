"""Background tasks: thin wrappers that run one pending sync each."""

from django.tasks import task

from billing.models import SyncKind
from billing.sync.runner import run_pending_sync


@task
def sync_object(kind: str, zuora_id: str) -> str:
    """Fetch one Zuora object and reconcile the local copy with it."""
    return run_pending_sync(kind=SyncKind(kind), zuora_id=zuora_id).value
