"""The portal's customers: people who sign in to manage billing accounts."""

import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class CustomerOrigin(models.TextChoices):
    SIGN_UP = "sign_up", "Signed up"
    SOLD_TO = "sold_to", "Sold-To provisioning"
    ADMIN = "admin", "Created by an administrator"


class CustomerManager(BaseUserManager["Customer"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "Customer":
        # Sign-in matches the address whatever its letter case, as the
        # database constraint does.
        return self.get(email__iexact=username)

    def _create(self, email: str, password: str | None, **extra_fields: object) -> "Customer":
        if not email:
            raise ValueError("A customer needs an email address.")
        customer = self.model(email=self.normalize_email(email), **extra_fields)
        customer.set_password(password)
        customer.full_clean(exclude=["password"])
        customer.save(using=self._db)
        return customer

    def create_user(
        self, email: str, password: str | None = None, **extra_fields: object
    ) -> "Customer":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create(email, password, **extra_fields)

    def create_superuser(
        self, email: str, password: str | None = None, **extra_fields: object
    ) -> "Customer":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("origin", CustomerOrigin.ADMIN)
        if extra_fields["is_staff"] is not True or extra_fields["is_superuser"] is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create(email, password, **extra_fields)


def unusable_password() -> str:
    """Django's marker of no password ("!" and 40 random characters), in one draw.

    Django draws each character with its own call to the system's random
    source: 400,000 calls for the 10,000 customers of a full import, 9 % of
    its time.
    """
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


class Customer(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    email = models.EmailField(
        "email address",
        unique=True,
        error_messages={"unique": "A customer with this email address already exists."},
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Unselect this instead of deleting the customer."
    )
    is_staff = models.BooleanField(
        default=False, help_text="Whether the customer can sign in to this admin site."
    )
    email_verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the customer proved they own the address; empty until then.",
    )
    origin = models.CharField(
        max_length=16, choices=CustomerOrigin.choices, default=CustomerOrigin.SIGN_UP
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = CustomerManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            # The plain unique flag above is case-sensitive; this one makes
            # Ann@Example.com and ann@example.com the same person on every
            # database, whoever inserts the row.
            models.UniqueConstraint(
                Lower("email"),
                name="customer_email_unique_ignoring_case",
                violation_error_message="A customer with this email address already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def set_unusable_password(self) -> None:
        self.password = unusable_password()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class ProvisioningAction(models.TextChoices):
    CREATED_CUSTOMER = "created_customer", "Created the customer"
    GRANTED = "granted", "Granted access"
    ACTIVATED = "activated", "Activated access"
    WITHDRAWN = "withdrawn", "Withdrew access"
    SKIPPED = "skipped", "Skipped provisioning"
    EMAIL_SENT = "email_sent", "Sent a set-password link"
    EMAIL_FAILED = "email_failed", "Could not send a set-password link"


class ProvisioningEvent(models.Model):
    """One thing Sold-To provisioning did, and why: the audit trail shown in the admin."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=16, choices=ProvisioningAction.choices)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provisioning_events",
    )
    billing_account = models.ForeignKey(
        "billing.BillingAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provisioning_events",
    )
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M:%S}"
