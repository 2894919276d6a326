"""How the sync stands: the queue's figures and the last reconciliation (`sync_status`, admin)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from billing.models import PassKind, PassState, PendingSync, ReconciliationRun, SyncState

RECONCILIATIONS = [PassKind.FULL, PassKind.INCREMENTAL]


@dataclass(frozen=True)
class SyncFigures:
    """The queue's counts, the oldest pending wait, and the reconciliation passes."""

    pending: int
    running: int
    dead: int
    oldest_pending_age: timedelta | None
    last_reconciliation: ReconciliationRun | None  # the latest finished full or incremental pass
    last_full: ReconciliationRun | None
    unfinished: list[ReconciliationRun]  # running or interrupted passes of any kind

    def lines(self) -> list[str]:
        """The figures as short lines of text, for the command and the admin."""
        oldest = (
            _duration(self.oldest_pending_age) if self.oldest_pending_age is not None else "none"
        )
        lines = [
            f"syncs pending: {self.pending}",
            f"syncs running: {self.running}",
            f"syncs dead: {self.dead}",
            f"oldest pending: {oldest}",
            f"last reconciliation: {_describe(self.last_reconciliation)}",
            f"watermark: {_watermark(self.last_reconciliation)}",
            f"last full comparison: {_describe(self.last_full)}",
        ]
        lines += [f"unfinished: {_describe(run)}" for run in self.unfinished]
        return lines


def sync_figures(*, now: datetime | None = None) -> SyncFigures:
    """Read the figures in a handful of queries."""
    now = now or timezone.now()
    counts = dict(
        PendingSync.objects.order_by()
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    since = PendingSync.objects.filter(state=SyncState.PENDING).aggregate(
        oldest=Min("requested_since")
    )["oldest"]
    finished = ReconciliationRun.objects.filter(state=PassState.FINISHED).order_by(
        "-finished_at", "-pk"
    )
    return SyncFigures(
        pending=counts.get(SyncState.PENDING, 0),
        running=counts.get(SyncState.RUNNING, 0),
        dead=counts.get(SyncState.DEAD, 0),
        oldest_pending_age=max(now - since, timedelta(0)) if since is not None else None,
        last_reconciliation=finished.filter(kind__in=RECONCILIATIONS).first(),
        last_full=finished.filter(kind=PassKind.FULL).first(),
        unfinished=list(
            ReconciliationRun.objects.exclude(state=PassState.FINISHED).order_by("-started_at")[:5]
        ),
    )


def _describe(run: ReconciliationRun | None) -> str:
    if run is None:
        return "never"
    when = run.finished_at or run.heartbeat_at
    text = f"{run.kind} #{run.pk} {run.state} at {when:%Y-%m-%d %H:%M:%S %Z}"
    text += f", {run.accounts_read} accounts and {run.contacts_read} contacts read"
    text += f", {run.zuora_calls} Zuora calls"
    if run.state != PassState.FINISHED:
        text += f", in phase {run.phase}"
    if run.error:
        text += f" ({run.error[:200]})"
    return text


def _watermark(run: ReconciliationRun | None) -> str:
    if run is None:
        return "none"
    marks = [
        f"{name} {mark.isoformat(timespec='seconds')}"
        for name, mark in (
            ("accounts", run.accounts_watermark),
            ("contacts", run.contacts_watermark),
        )
        if mark is not None
    ]
    return ", ".join(marks) or "none"


def _duration(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"
