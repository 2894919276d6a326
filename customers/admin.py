from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from billing.models import BillingAccountMembership
from customers.models import Customer, CustomerOrigin


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
    readonly_fields = ["granted_at"]


@admin.register(Customer)
class CustomerAdmin(UserAdmin):
    form = CustomerChangeForm
    add_form = CustomerCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "email_verified_at", "origin"]
    list_filter = ["is_active", "is_staff", "origin"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [MembershipInline]
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
