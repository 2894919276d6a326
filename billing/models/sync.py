"""Bookkeeping of the sync: what Zuora told us, and what still needs fetching."""

from django.db import models

from billing.models.accounts import zuora_id_validator


class SyncKind(models.TextChoices):
    ACCOUNT = "account", "Account"
    CONTACT = "contact", "Contact"


class CalloutReceipt(models.Model):
    """One callout as received: an audit row that holds no personal data."""

    kind = models.CharField(max_length=16, choices=SyncKind.choices)
    zuora_id = models.CharField("Zuora id", max_length=32, validators=[zuora_id_validator])
    account_zuora_id = models.CharField(
        "account's Zuora id",
        max_length=32,
        blank=True,
        help_text="Sent along with a contact callout, when configured.",
    )
    zuora_request_id = models.CharField(
        max_length=64, blank=True, help_text="Zuora-Request-Id: new on every delivery attempt."
    )
    zuora_notification_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="Zuora-Notification-Id: the same on every retry of one notification.",
    )
    source_address = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["kind", "zuora_id"], name="receipt_object")]

    def __str__(self) -> str:
        return f"{self.kind} {self.zuora_id} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class SyncState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DEAD = "dead", "Dead"


class PendingSync(models.Model):
    """One Zuora object that must be fetched and reconciled.

    There is at most one row per object: callouts for an object that is
    already pending coalesce into it. A row is deleted once a reconciliation
    that started after the latest request has committed; `generation` counts
    requests so that one arriving during a run is never swallowed.
    """

    kind = models.CharField(max_length=16, choices=SyncKind.choices)
    zuora_id = models.CharField("Zuora id", max_length=32, validators=[zuora_id_validator])
    state = models.CharField(max_length=16, choices=SyncState.choices, default=SyncState.PENDING)
    generation = models.PositiveIntegerField(
        default=1, help_text="Incremented by every request for this object."
    )
    requested_since = models.DateTimeField(
        help_text="When the current wait began: the first request, or the latest revival."
    )
    last_requested_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(help_text="Not run before this time.")
    settle_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Further requests delay the first run of a wait at most until then.",
    )
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_generation = models.PositiveIntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A running sync not finished by then is re-run."
    )
    last_error = models.TextField(blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    replay_reason = models.TextField(
        blank=True, help_text="Why an operator last retried this sync after it died."
    )
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.CharField(max_length=150, blank=True)
    # A contact whose callout named its account can be covered by that
    # account's sync, which fetches the Bill-To and Sold-To with the account.
    account_zuora_id = models.CharField(
        "account's Zuora id",
        max_length=32,
        blank=True,
        help_text="A contact's account, as its latest callout that named one sent it.",
    )
    cover_token = models.CharField(
        max_length=32,
        blank=True,
        help_text="The claim of the account sync whose fetch came after this contact's "
        "requests up to cover_generation.",
    )
    cover_generation = models.PositiveIntegerField(null=True, blank=True)
    # A request during a run starts a second run at once (once settled), which
    # takes the claim over: the first run's fetch may predate the change.
    follow_up = models.BooleanField(
        default=False,
        help_text="The running claim took over from an earlier run that a request "
        "overtook; requests during it wait for it to end.",
    )

    class Meta:
        ordering = ["next_attempt_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "zuora_id"], name="one_pending_sync_per_object")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="pending_sync_due"),
            models.Index(fields=["state", "lease_expires_at"], name="pending_sync_lease"),
            models.Index(
                fields=["account_zuora_id"],
                condition=~models.Q(account_zuora_id=""),
                name="pending_sync_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.zuora_id} ({self.state})"
