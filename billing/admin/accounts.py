from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.models import BillingAccount, BillingAccountContact, BillingAccountMembership


class ContactInline(admin.StackedInline):
    model = BillingAccountContact
    extra = 0
    show_change_link = True
    fields = [
        ("zuora_id", "zuora_updated_at", "last_synced_at"),
        ("first_name", "last_name", "nickname"),
        ("work_email", "personal_email"),
        ("work_phone", "mobile_phone", "home_phone", "fax"),
        ("address1", "address2"),
        ("city", "county", "state", "postal_code", "country", "tax_region"),
    ]
    readonly_fields = ["zuora_updated_at", "last_synced_at"]


class MembershipInline(admin.TabularInline):
    model = BillingAccountMembership
    extra = 0
    autocomplete_fields = ["customer"]
    fields = ["customer", "role", "provenance", "granted_at", "granted_by", "activated_at"]
    readonly_fields = ["granted_at"]


class ProvisioningProblemFilter(admin.SimpleListFilter):
    title = "Sold-To provisioning"
    parameter_name = "provisioning"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("problem", "Has a problem"), ("ok", "No problem")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[BillingAccount]
    ) -> QuerySet[BillingAccount]:
        if self.value() == "problem":
            return queryset.exclude(sold_to_provisioning_problem="")
        if self.value() == "ok":
            return queryset.filter(sold_to_provisioning_problem="")
        return queryset


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = [
        "account_number",
        "name",
        "status",
        "currency",
        "bill_to_contact",
        "sold_to_contact",
        "zuora_updated_at",
        "last_synced_at",
        "sold_to_provisioning_problem",
    ]
    list_filter = ["status", "currency", "batch", ProvisioningProblemFilter]
    search_fields = [
        "=zuora_id",
        "account_number",
        "name",
        "contacts__work_email",
        "contacts__personal_email",
        "=contacts__zuora_id",
    ]
    readonly_fields = [
        "zuora_updated_at",
        "last_synced_at",
        "created_at",
        "sold_to_provisioning_problem",
        "sold_to_provisioning_problem_at",
    ]
    list_select_related = ["bill_to_contact", "sold_to_contact"]
    inlines = [ContactInline, MembershipInline]

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change=change, **kwargs)
        # Bill-To and Sold-To can only be contacts of this account.
        contacts = BillingAccountContact.objects.filter(billing_account=obj)
        for name in ("bill_to_contact", "sold_to_contact"):
            if name in form.base_fields:
                form.base_fields[name].queryset = contacts  # type: ignore[attr-defined]
        return form

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[BillingAccount], search_term: str
    ) -> tuple[QuerySet[BillingAccount], bool]:
        queryset, _ = super().get_search_results(request, queryset, search_term)
        # Searching across contacts joins many rows per account.
        return queryset.distinct(), False


@admin.register(BillingAccountContact)
class BillingAccountContactAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "billing_account",
        "work_email",
        "zuora_id",
        "zuora_updated_at",
        "last_synced_at",
    ]
    search_fields = [
        "=zuora_id",
        "first_name",
        "last_name",
        "work_email",
        "personal_email",
        "billing_account__account_number",
    ]
    list_select_related = ["billing_account"]
    autocomplete_fields = ["billing_account"]
    readonly_fields = ["zuora_updated_at", "last_synced_at", "created_at"]


@admin.register(BillingAccountMembership)
class BillingAccountMembershipAdmin(admin.ModelAdmin):
    list_display = [
        "customer",
        "billing_account",
        "role",
        "provenance",
        "granted_at",
        "granted_by",
        "is_active",
    ]
    list_filter = ["provenance", "role", ("activated_at", admin.EmptyFieldListFilter)]
    search_fields = [
        "customer__email",
        "billing_account__account_number",
        "=billing_account__zuora_id",
    ]
    list_select_related = ["customer", "billing_account"]
    autocomplete_fields = ["customer", "billing_account"]
    readonly_fields = ["granted_at"]

    @admin.display(boolean=True, description="active", ordering="activated_at")
    def is_active(self, obj: BillingAccountMembership) -> bool:
        return obj.is_active
