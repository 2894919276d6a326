"""Reconciliation passes over all of Zuora: their watermarks, progress and outcome.

One row per pass. While a pass runs, its watermarks are where it resumes
after an interruption; once it has finished they are the watermark the next
incremental pass reads from (Zuora's own `updatedDate`, never our clock).
"""

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

# A running pass records progress at least this often; one silent for longer
# was killed, and the next pass of its kind takes it over.
HEARTBEAT_TIMEOUT = timedelta(minutes=5)


class PassKind(models.TextChoices):
    FULL = "full", "Full comparison"
    INCREMENTAL = "incremental", "Incremental"
    CLEAR_MISSING = "clear_missing", "Clear accounts missing from Zuora"


class PassState(models.TextChoices):
    RUNNING = "running", "Running"
    FAILED = "failed", "Failed (resumable)"
    FINISHED = "finished", "Finished"


class PassPhase(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    CONTACTS = "contacts", "Contacts"
    GONE = "gone", "Objects gone from Zuora"
    DONE = "done", "Done"


class ReconciliationRun(models.Model):
    """One pass: a full import or comparison, an incremental pass, or a missing-accounts sweep."""

    kind = models.CharField(max_length=16, choices=PassKind.choices)
    state = models.CharField(max_length=16, choices=PassState.choices, default=PassState.RUNNING)
    phase = models.CharField(max_length=16, choices=PassPhase.choices, default=PassPhase.ACCOUNTS)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now, help_text="Last recorded progress.")
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(
        null=True, blank=True, help_text="Incremental: read objects updated in Zuora from here."
    )
    accounts_watermark = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest account updatedDate read: the resume point, then the watermark.",
    )
    contacts_watermark = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest contact updatedDate read: the resume point, then the watermark.",
    )
    last_account_pk = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Missing-accounts sweep: local accounts checked up to here.",
    )
    accounts_read = models.PositiveIntegerField(default=0)
    contacts_read = models.PositiveIntegerField(default=0)
    accounts_written = models.PositiveIntegerField(default=0)
    contacts_written = models.PositiveIntegerField(default=0)
    accounts_missing = models.PositiveIntegerField(
        default=0, help_text="Missing-accounts sweep: local accounts Zuora does not have."
    )
    accounts_deleted = models.PositiveIntegerField(default=0)
    contacts_deleted = models.PositiveIntegerField(default=0)
    syncs_requested = models.PositiveIntegerField(
        default=0, help_text="Objects handed to the sync queue (e.g. not seen in Zuora)."
    )
    zuora_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["kind", "state"], name="reconciliation_run_kind_state")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    def is_stalled(self, *, now: datetime | None = None) -> bool:
        """A running pass that stopped reporting progress: its process is gone."""
        return self.state == PassState.RUNNING and (
            (now or timezone.now()) - self.heartbeat_at > HEARTBEAT_TIMEOUT
        )
