"""The local copy of Zuora billing accounts and their contacts.

Field lengths follow Zuora's Account and Contact field definitions, so that
anything Zuora accepts fits here. Blank text is stored as "" (Django's
convention), never NULL.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

ZUORA_ID_PATTERN = r"\A[0-9a-f]{32}\Z"

zuora_id_validator = RegexValidator(
    ZUORA_ID_PATTERN, "A Zuora id is 32 lowercase hexadecimal characters."
)


def zuora_id_field(**options: object) -> models.CharField:
    return models.CharField(
        "Zuora id", max_length=32, unique=True, validators=[zuora_id_validator], **options
    )


class AccountStatus(models.TextChoices):
    DRAFT = "Draft"
    ACTIVE = "Active"
    CANCELED = "Canceled"


class BillingAccount(models.Model):
    """One Zuora Account, with its Bill-To and Sold-To as local contact rows."""

    zuora_id = zuora_id_field()
    account_number = models.CharField(max_length=70, unique=True)
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=AccountStatus.choices)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code.")
    batch = models.CharField(max_length=50, blank=True)
    bill_to_contact = models.ForeignKey(
        "BillingAccountContact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bill_to_for",
        verbose_name="Bill-To contact",
    )
    sold_to_contact = models.ForeignKey(
        "BillingAccountContact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sold_to_for",
        verbose_name="Sold-To contact",
    )
    zuora_updated_at = models.DateTimeField(
        "updated in Zuora", null=True, blank=True, help_text="Zuora's updatedDate."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sold_to_provisioning_problem = models.CharField(
        max_length=255,
        blank=True,
        help_text="Why the Sold-To contact could not be given portal access; empty when it was.",
    )
    sold_to_provisioning_problem_at = models.DateTimeField(
        "Sold-To provisioning problem since", null=True, blank=True
    )

    class Meta:
        ordering = ["account_number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(zuora_id__regex=ZUORA_ID_PATTERN),
                name="billing_account_zuora_id_is_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_number} {self.name}".strip()


class BillingAccountContact(models.Model):
    """One Zuora Contact of a billing account."""

    zuora_id = zuora_id_field()
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    nickname = models.CharField(max_length=100, blank=True)
    work_email = models.CharField(max_length=80, blank=True)
    personal_email = models.CharField(max_length=80, blank=True)
    work_phone = models.CharField(max_length=40, blank=True)
    mobile_phone = models.CharField(max_length=40, blank=True)
    home_phone = models.CharField(max_length=40, blank=True)
    fax = models.CharField(max_length=40, blank=True)
    address1 = models.CharField("address line 1", max_length=255, blank=True)
    address2 = models.CharField("address line 2", max_length=255, blank=True)
    city = models.CharField(max_length=40, blank=True)
    county = models.CharField(max_length=32, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=64, blank=True)
    tax_region = models.CharField(max_length=32, blank=True)
    zuora_updated_at = models.DateTimeField(
        "updated in Zuora", null=True, blank=True, help_text="Zuora's updatedDate."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["billing_account_id", "last_name", "first_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(zuora_id__regex=ZUORA_ID_PATTERN),
                name="billing_contact_zuora_id_is_hex",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.zuora_id


class MembershipProvenance(models.TextChoices):
    SOLD_TO = "sold_to", "Sold-To contact of the account"
    MANUAL = "manual", "Granted by hand"


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"


class BillingAccountMembership(models.Model):
    """A customer's access to manage a billing account's subscriptions."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(
        max_length=16, choices=MembershipRole.choices, default=MembershipRole.MANAGER
    )
    provenance = models.CharField(max_length=16, choices=MembershipProvenance.choices)
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.CharField(
        max_length=150,
        blank=True,
        help_text="What granted it: the sync, or the administrator who did.",
    )
    activated_at = models.DateTimeField(
        null=True,
        blank=True,
        default=timezone.now,
        help_text=(
            "When the access began. Empty while it waits for the customer to confirm "
            "their email address."
        ),
    )

    class Meta:
        ordering = ["billing_account_id", "customer_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "billing_account"],
                name="one_membership_per_customer_and_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} on {self.billing_account}"

    @property
    def is_active(self) -> bool:
        return self.activated_at is not None
