from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from billing.models import BillingAccountMembership
from customers.models import Customer, CustomerOrigin, ProvisioningEvent


class CustomerCreationForm(UserCreationForm):
    class Meta:
        model = Customer
        fields = ("email",)


class CustomerChangeForm(UserChangeForm):
    class Meta:
        model = Customer
        fields = "__all__"
        field_classes: dict[str, type[forms.Field]] = {}


class MembershipInline(admin.TabularInline):
    model = BillingAccountMembership
    extra = 0
    autocomplete_fields = ["billing_account"]
    fields = ["billing_account", "role", "provenance", "granted_at", "granted_by", "activated_at"]
    readonly_fields = ["granted_at"]


class ProvisioningEventInline(admin.TabularInline):
    model = ProvisioningEvent
    fk_name = "customer"
    extra = 0
    fields = ["at", "action", "billing_account", "reason"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Customer)
class CustomerAdmin(UserAdmin):
    form = CustomerChangeForm
    add_form = CustomerCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "email_verified_at", "origin"]
    list_filter = ["is_active", "is_staff", "origin"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [MembershipInline, ProvisioningEventInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Status", {"fields": ("is_active", "email_verified_at", "origin")}),
        (
            "Permissions",
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "password1", "password2"),
            },
        ),
    )

    def get_inlines(self, request, obj):  # type: ignore[no-untyped-def]
        # Memberships are granted once the customer exists.
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.origin = CustomerOrigin.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(ProvisioningEvent)
class ProvisioningEventAdmin(admin.ModelAdmin):
    """The audit trail of Sold-To provisioning: read-only."""

    list_display = ["at", "action", "customer", "billing_account", "reason"]
    list_filter = ["action"]
    search_fields = [
        "customer__email",
        "billing_account__account_number",
        "=billing_account__zuora_id",
        "reason",
    ]
    list_select_related = ["customer", "billing_account"]
    date_hierarchy = "at"

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
