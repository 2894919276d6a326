"""Admin page of reconciliation passes, headed by the sync's figures (as `sync_status`)."""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from billing.models import ReconciliationRun
from billing.sync.status import sync_figures


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "kind",
        "state",
        "phase",
        "finished_at",
        "accounts_watermark",
        "contacts_watermark",
        "accounts_read",
        "contacts_read",
        "syncs_requested",
        "accounts_deleted",
        "zuora_calls",
    ]
    list_filter = ["kind", "state"]
    date_hierarchy = "started_at"
    readonly_fields = [field.name for field in ReconciliationRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The figures ride on the message list: no template of our own to keep up.
        if request.method == "GET":
            for line in sync_figures().lines():
                self.message_user(request, line, messages.INFO)
        return super().changelist_view(request, extra_context)
