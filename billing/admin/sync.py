"""Admin pages for the sync's bookkeeping: callouts received and syncs waiting or dead."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.models import CalloutReceipt, PendingSync, SyncState
from billing.sync import pending, queue


@admin.register(CalloutReceipt)
class CalloutReceiptAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "kind",
        "zuora_id",
        "account_zuora_id",
        "zuora_notification_id",
        "zuora_request_id",
        "source_address",
    ]
    list_filter = ["kind"]
    search_fields = ["=zuora_id", "=account_zuora_id", "=zuora_notification_id"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RetryForm(ActionForm):
    reason = forms.CharField(
        required=False,
        label="Reason",
        help_text="Required to retry dead syncs; kept on each row.",
    )


@admin.register(PendingSync)
class PendingSyncAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "zuora_id",
        "state",
        "attempts",
        "generation",
        "requested_since",
        "next_attempt_at",
        "account_zuora_id",
        "short_error",
    ]
    list_filter = ["state", "kind"]
    search_fields = ["=zuora_id", "=account_zuora_id"]
    action_form = RetryForm
    actions = ["retry_dead"]
    readonly_fields = [field.name for field in PendingSync._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="last error")
    def short_error(self, row: PendingSync) -> str:
        return row.last_error[:80]

    @admin.action(description="Retry the selected dead syncs (give a reason)")
    def retry_dead(self, request: HttpRequest, rows: QuerySet[PendingSync]) -> None:
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "Give a reason to retry dead syncs.", messages.ERROR)
            return
        dead = list(rows.filter(state=SyncState.DEAD).values_list("pk", "kind", "zuora_id"))
        with transaction.atomic():  # revived with their tasks
            revived = pending.revive(
                pks=[pk for pk, _, _ in dead], reason=reason, operator=request.user.get_username()
            )
            queue.enqueue_now((kind, zuora_id) for _, kind, zuora_id in dead)
        self.message_user(request, f"{revived} dead syncs queued again.", messages.SUCCESS)
