"""Sold-To provisioning: an account's Sold-To contact becomes a portal customer with access.

Level-triggered: every run reads the account's current Sold-To and grants or
withdraws Sold-To memberships to match, so a second run changes nothing. The
sync's `sold_to_changed` signal runs it for one account; the
`provision_sold_to` command runs it for all of them.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import (
    BillingAccount,
    BillingAccountContact,
    BillingAccountMembership,
    MembershipProvenance,
)
from billing.sync.reconcile import sold_to_email
from customers.email_address import InvalidEmailAddress, customers_with_email, normalise_email
from customers.invitations import purpose_for, send_set_password_link
from customers.metrics import PROVISIONING_RUNS
from customers.models import Customer, CustomerOrigin, ProvisioningAction, ProvisioningEvent

logger = logging.getLogger(__name__)

GRANTED_BY = "Sold-To provisioning"


class ProvisioningStatus(StrEnum):
    ACTIVE = "active"  # the Sold-To has access
    AWAITING_VERIFICATION = "awaiting_verification"  # granted, until they confirm their address
    SKIPPED = "skipped"  # no Sold-To, or no usable email: recorded on the account
    DISABLED = "disabled"  # SOLD_TO_PROVISIONING_ENABLED is off
    ACCOUNT_MISSING = "account_missing"


class ProvisioningProblem(StrEnum):
    NO_SOLD_TO = "The account has no Sold-To contact."
    NO_EMAIL = "The Sold-To contact has no email address."
    INVALID_EMAIL = "The Sold-To contact's email address is not valid"


@dataclass(frozen=True)
class ProvisioningOutcome:
    """What one run found and changed."""

    status: ProvisioningStatus
    customer_id: int | None = None
    created_customer: bool = False
    granted: bool = False
    activated: bool = False
    withdrawn: int = 0
    problem: str = ""  # for a skipped run: no_sold_to, no_email or invalid_email


def provision_sold_to(*, account_id: int) -> ProvisioningOutcome:
    """Give the account's current Sold-To contact access, and withdraw it from former ones."""
    outcome = _provision(account_id)
    PROVISIONING_RUNS.labels(status=str(outcome.status), problem=outcome.problem).inc()
    return outcome


def _provision(account_id: int) -> ProvisioningOutcome:
    if not settings.SOLD_TO_PROVISIONING_ENABLED:
        return ProvisioningOutcome(status=ProvisioningStatus.DISABLED)
    with transaction.atomic():
        # One run per account at a time, so grants and withdrawals never interleave.
        account = BillingAccount.objects.select_for_update().filter(pk=account_id).first()
        if account is None:
            return ProvisioningOutcome(status=ProvisioningStatus.ACCOUNT_MISSING)
        try:
            email, contact = _sold_to_address(account)
        except _Unusable as unusable:
            withdrawn = _withdraw(account, keep=None, reason=unusable.reason)
            _record_problem(account, unusable.reason, code=unusable.code)
            return ProvisioningOutcome(
                status=ProvisioningStatus.SKIPPED, withdrawn=withdrawn, problem=unusable.code
            )
        customer, created = _find_or_create_customer(email=email, contact=contact)
        withdrawn = _withdraw(account, keep=customer, reason="No longer the Sold-To contact.")
        granted, activated, active = _grant(account, customer, created=created)
        _clear_problem(account)
    return ProvisioningOutcome(
        status=ProvisioningStatus.ACTIVE if active else ProvisioningStatus.AWAITING_VERIFICATION,
        customer_id=customer.pk,
        created_customer=created,
        granted=granted,
        activated=activated,
        withdrawn=withdrawn,
    )


def confirm_email_address(*, customer_id: int) -> int:
    """The customer proved they read mail at their address: mark it verified, open waiting access.

    Returns how many memberships became active.
    """
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.email_verified_at is None:
            customer.email_verified_at = now
            customer.save(update_fields=["email_verified_at"])
        waiting = list(
            BillingAccountMembership.objects.select_for_update().filter(
                customer=customer, activated_at__isnull=True
            )
        )
        for membership in waiting:
            membership.activated_at = now
            membership.save(update_fields=["activated_at"])
            _audit(
                ProvisioningAction.ACTIVATED,
                customer=customer,
                account_id=membership.billing_account_id,
                reason="The customer confirmed their email address.",
            )
    return len(waiting)


class _Unusable(Exception):
    def __init__(self, problem: ProvisioningProblem, detail: str = "") -> None:
        self.code = problem.name.lower()
        self.reason = f"{problem.value}: {detail}" if detail else problem.value
        super().__init__(self.reason)


def _sold_to_address(account: BillingAccount) -> tuple[str, BillingAccountContact]:
    if account.sold_to_contact_id is None:
        raise _Unusable(ProvisioningProblem.NO_SOLD_TO)
    contact = BillingAccountContact.objects.get(pk=account.sold_to_contact_id)
    # The same choice of address as the sync's, which announces its changes.
    raw = sold_to_email(contact.pk).strip()
    if not raw:
        raise _Unusable(ProvisioningProblem.NO_EMAIL)
    try:
        return normalise_email(raw), contact
    except InvalidEmailAddress as error:
        raise _Unusable(ProvisioningProblem.INVALID_EMAIL, str(error)[:180]) from None


def _find_or_create_customer(
    *, email: str, contact: BillingAccountContact
) -> tuple[Customer, bool]:
    existing = customers_with_email(email).first()
    if existing is not None:
        return existing, False
    customer = Customer(
        email=email,
        first_name=contact.first_name[:100],
        last_name=contact.last_name[:100],
        origin=CustomerOrigin.SOLD_TO,
    )
    customer.set_unusable_password()
    try:
        # The unique constraint on LOWER(email) decides between two workers
        # creating the same customer; the loser uses the winner's row.
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        return customers_with_email(email).get(), False
    _audit(
        ProvisioningAction.CREATED_CUSTOMER,
        customer=customer,
        account_id=contact.billing_account_id,
        reason=f"Sold-To contact {contact.zuora_id} had no portal customer.",
    )
    return customer, True


def _grant(
    account: BillingAccount, customer: Customer, *, created: bool
) -> tuple[bool, bool, bool]:
    """Returns (granted now, activated now, active)."""
    membership = BillingAccountMembership.objects.filter(
        customer=customer, billing_account=account
    ).first()
    if membership is None:
        verified = customer.email_verified
        BillingAccountMembership.objects.create(
            customer=customer,
            billing_account=account,
            provenance=MembershipProvenance.SOLD_TO,
            granted_by=GRANTED_BY,
            activated_at=timezone.now() if verified else None,
        )
        _audit(
            ProvisioningAction.GRANTED,
            customer=customer,
            account_id=account.pk,
            reason="Sold-To contact of the account."
            if verified
            else "Sold-To contact of the account; waits until the customer confirms "
            "their email address.",
        )
        if not verified and customer.is_active:
            transaction.on_commit(
                partial(
                    send_set_password_link, customer_id=customer.pk, purpose=purpose_for(customer)
                ),
                robust=True,
            )
        return True, False, verified
    if (
        membership.provenance == MembershipProvenance.SOLD_TO
        and not membership.is_active
        and customer.email_verified
    ):
        # Verified since the grant, but the activation did not happen then.
        membership.activated_at = timezone.now()
        membership.save(update_fields=["activated_at"])
        _audit(
            ProvisioningAction.ACTIVATED,
            customer=customer,
            account_id=account.pk,
            reason="The customer's email address is confirmed.",
        )
        return False, True, True
    return False, False, membership.is_active


def _withdraw(account: BillingAccount, *, keep: Customer | None, reason: str) -> int:
    """Delete the account's Sold-To memberships except `keep`'s; hand-granted ones stay."""
    memberships = BillingAccountMembership.objects.filter(
        billing_account=account, provenance=MembershipProvenance.SOLD_TO
    )
    if keep is not None:
        memberships = memberships.exclude(customer=keep)
    withdrawn = list(memberships.select_related("customer"))
    for membership in withdrawn:
        membership.delete()
        _audit(
            ProvisioningAction.WITHDRAWN,
            customer=membership.customer,
            account_id=account.pk,
            reason=reason,
        )
    return len(withdrawn)


def _record_problem(account: BillingAccount, reason: str, *, code: str) -> None:
    logger.warning(
        "Sold-To provisioning skipped", extra={"account_id": account.pk, "problem": code}
    )
    if account.sold_to_provisioning_problem == reason:
        return  # already recorded and audited; re-runs add nothing
    account.sold_to_provisioning_problem = reason
    account.sold_to_provisioning_problem_at = timezone.now()
    account.save(update_fields=["sold_to_provisioning_problem", "sold_to_provisioning_problem_at"])
    _audit(ProvisioningAction.SKIPPED, customer=None, account_id=account.pk, reason=reason)


def _clear_problem(account: BillingAccount) -> None:
    if account.sold_to_provisioning_problem or account.sold_to_provisioning_problem_at:
        account.sold_to_provisioning_problem = ""
        account.sold_to_provisioning_problem_at = None
        account.save(
            update_fields=["sold_to_provisioning_problem", "sold_to_provisioning_problem_at"]
        )


def _audit(
    action: ProvisioningAction, *, customer: Customer | None, account_id: int, reason: str
) -> None:
    ProvisioningEvent.objects.create(
        action=action, customer=customer, billing_account_id=account_id, reason=reason
    )
    logger.info(
        "Sold-To provisioning: %s",
        action.label,
        extra={"account_id": account_id, "customer_id": customer.pk if customer else None},
    )
