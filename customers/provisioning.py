"""Sold-To provisioning: an account's Sold-To contact becomes a portal customer with access.

Level-triggered: every run reads the accounts' current Sold-To and grants or
withdraws Sold-To memberships to match, so a second run changes nothing. The
sync's `sold_to_changed` signal runs it for the accounts a reconciliation
changed, all together (a batch of the import in a few queries);
the `provision_sold_to` command runs it for every account.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import BillingAccount, BillingAccountMembership, MembershipProvenance
from billing.sync.among import Among
from billing.sync.reconcile import sign_in_address
from billing.sync.upsert import insert_rows, update_by_pk
from customers.email_address import (
    CustomerStanding,
    InvalidEmailAddress,
    customers_by_lowercase_email,
    lowercase_emails,
    normalise_email,
)
from customers.invitations import LinkPurpose, purpose_for, send_set_password_links_later
from customers.metrics import PROVISIONING_RUNS
from customers.models import (
    Customer,
    CustomerOrigin,
    ProvisioningAction,
    ProvisioningEvent,
    unusable_password,
)

logger = logging.getLogger(__name__)

GRANTED_BY = "Sold-To provisioning"
# The columns of the rows provisioning inserts.
CUSTOMER_FIELDS = ("email", "first_name", "last_name", "origin", "password")
GRANT_FIELDS = ("customer_id", "billing_account_id", "provenance", "granted_by", "activated_at")
EVENT_FIELDS = ("action", "customer_id", "billing_account_id", "reason")


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
    return provision_sold_to_accounts([account_id])[account_id]


def provision_sold_to_accounts(account_ids: Iterable[int]) -> dict[int, ProvisioningOutcome]:
    """Provision many accounts together, in a number of queries that barely grows with them
    (one more per 1,000 addresses).

    The same rules as for one account, in one savepoint: if it fails, nothing
    of it is written (the caller may retry account by account). Outcomes by
    account id.
    """
    ids = sorted(set(account_ids))
    if not settings.SOLD_TO_PROVISIONING_ENABLED:
        outcomes = {pk: ProvisioningOutcome(status=ProvisioningStatus.DISABLED) for pk in ids}
    else:
        with transaction.atomic():
            outcomes = _Batch(ids).run()
    runs = Counter((str(outcome.status), outcome.problem) for outcome in outcomes.values())
    for (status, problem), count in runs.items():
        PROVISIONING_RUNS.labels(status=status, problem=problem).inc(count)
    return outcomes


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


class _SoldTo(NamedTuple):
    """An account as provisioning reads it, with its Sold-To contact (None when it has none)."""

    account_id: int
    problem: str
    problem_at: datetime | None
    contact_id: str | None  # the contact's Zuora id
    contact_account_id: int | None
    work_email: str | None
    personal_email: str | None
    first_name: str | None
    last_name: str | None


# In the order of _SoldTo's fields.
SOLD_TO_COLUMNS = (
    "pk",
    "sold_to_provisioning_problem",
    "sold_to_provisioning_problem_at",
    "sold_to_contact__zuora_id",
    "sold_to_contact__billing_account_id",
    "sold_to_contact__work_email",
    "sold_to_contact__personal_email",
    "sold_to_contact__first_name",
    "sold_to_contact__last_name",
)


class _Membership(NamedTuple):
    pk: int
    provenance: str
    is_active: bool


def _sold_to_address(account: _SoldTo) -> str:
    """The account's current Sold-To address, normalised; the same choice as the sync's."""
    if account.contact_id is None:
        raise _Unusable(ProvisioningProblem.NO_SOLD_TO)
    raw = sign_in_address(account.work_email or "", account.personal_email or "").strip()
    if not raw:
        raise _Unusable(ProvisioningProblem.NO_EMAIL)
    try:
        return normalise_email(raw)
    except InvalidEmailAddress as error:
        raise _Unusable(ProvisioningProblem.INVALID_EMAIL, str(error)[:180]) from None


class _Batch:
    """One provisioning run over many accounts, inside the caller's transaction."""

    def __init__(self, account_ids: list[int]) -> None:
        self.account_ids = account_ids
        self.now = timezone.now()
        self.events: list[tuple[object, ...]] = []  # rows of EVENT_FIELDS
        self.grants: list[tuple[object, ...]] = []  # rows of GRANT_FIELDS
        self.activations: list[int] = []  # membership pks
        self.links: dict[int, LinkPurpose] = {}  # set-password links to send, by customer

    def run(self) -> dict[int, ProvisioningOutcome]:
        # One run per account at a time, so grants and withdrawals never interleave.
        # What provisioning reads, and no more, as rows: building every field
        # of 1,000 accounts and contacts was a tenth of an import's time.
        accounts = [
            _SoldTo(*row)
            for row in BillingAccount.objects.select_for_update(of=("self",))
            .filter(Among("pk", self.account_ids))
            .order_by("pk")
            .values_list(*SOLD_TO_COLUMNS)
        ]
        outcomes = {
            pk: ProvisioningOutcome(status=ProvisioningStatus.ACCOUNT_MISSING)
            for pk in self.account_ids
        }
        emails: dict[int, str] = {}
        unusable: dict[int, _Unusable] = {}
        for account in accounts:
            try:
                emails[account.account_id] = _sold_to_address(account)
            except _Unusable as problem:
                unusable[account.account_id] = problem
        lowercase = lowercase_emails(emails.values())
        customers, created = self._customers(accounts, emails, lowercase)
        keep = {pk: customers[lowercase[email]] for pk, email in emails.items()}
        memberships = self._memberships()
        withdrawn = self._withdraw(memberships, keep, unusable)
        for account in accounts:
            pk = account.account_id
            if pk in unusable:
                outcomes[pk] = ProvisioningOutcome(
                    status=ProvisioningStatus.SKIPPED,
                    withdrawn=withdrawn[pk],
                    problem=unusable[pk].code,
                )
                continue
            customer = keep[pk]
            existing = memberships.get((pk, customer.pk))
            granted, activated, active = self._grant(pk, customer, existing)
            # A customer created for several accounts counts as created by the first.
            created_now = customer.pk in created
            created.discard(customer.pk)
            outcomes[pk] = ProvisioningOutcome(
                status=ProvisioningStatus.ACTIVE
                if active
                else ProvisioningStatus.AWAITING_VERIFICATION,
                customer_id=customer.pk,
                created_customer=created_now,
                granted=granted,
                activated=activated,
                withdrawn=withdrawn[pk],
            )
        self._write_grants()
        self._record_problems(accounts, unusable)
        insert_rows(ProvisioningEvent, EVENT_FIELDS, self.events)
        if self.links:
            send_set_password_links_later(list(self.links.items()))
        return outcomes

    def _customers(
        self,
        accounts: list[_SoldTo],
        emails: dict[int, str],
        lowercase: dict[str, str],
    ) -> tuple[dict[str, CustomerStanding], set[int]]:
        """The customer of each address (by lowercase address), found or created.

        Also returns the ids of the customers created here.
        """
        customers = customers_by_lowercase_email(lowercase.values())
        wanted: dict[str, tuple[str, _SoldTo]] = {}
        for account in accounts:
            email = emails.get(account.account_id)
            if email is not None and lowercase[email] not in customers:
                # The first account with the address names the customer.
                wanted.setdefault(lowercase[email], (email, account))
        if not wanted:
            return customers, set()
        try:
            # The unique constraint on LOWER(email) decides between two workers
            # creating the same customer.
            with transaction.atomic():
                pks = insert_rows(
                    Customer,
                    CUSTOMER_FIELDS,
                    [_new_customer(email, contact) for email, contact in wanted.values()],
                )
            new = {lower: _new_standing(pk) for lower, pk in zip(wanted, pks, strict=True)}
        except IntegrityError:
            # Another worker created some of them meanwhile: one at a time,
            # each using the winner's row when it loses.
            new = {}
            for lower, (email, contact) in wanted.items():
                customer, made = _find_or_create_customer(lower, email=email, contact=contact)
                customers[lower] = customer
                if made:
                    new[lower] = customer
        customers |= new
        for lower, customer in new.items():
            contact = wanted[lower][1]
            self._audit(
                ProvisioningAction.CREATED_CUSTOMER,
                customer=customer,
                account_id=contact.contact_account_id,
                reason=f"Sold-To contact {contact.contact_id} had no portal customer.",
            )
        return customers, {customer.pk for customer in new.values()}

    def _memberships(self) -> dict[tuple[int, int], _Membership]:
        """Every membership of the accounts, by (account, customer)."""
        return {
            (account_id, customer_id): _Membership(pk, provenance, activated_at is not None)
            for pk, account_id, customer_id, provenance, activated_at in (
                BillingAccountMembership.objects.filter(
                    Among("billing_account", self.account_ids)
                ).values_list(
                    "pk", "billing_account_id", "customer_id", "provenance", "activated_at"
                )
            )
        }

    def _withdraw(
        self,
        memberships: dict[tuple[int, int], _Membership],
        keep: dict[int, CustomerStanding],
        unusable: dict[int, _Unusable],
    ) -> Counter[int]:
        """Delete Sold-To memberships of others than the current Sold-To; hand-granted ones stay."""
        withdrawn: Counter[int] = Counter()
        gone = []
        for (account_id, customer_id), membership in list(memberships.items()):
            if membership.provenance != MembershipProvenance.SOLD_TO:
                continue
            if account_id in unusable:
                reason = unusable[account_id].reason
            elif account_id in keep and keep[account_id].pk != customer_id:
                reason = "No longer the Sold-To contact."
            else:
                continue
            gone.append(membership.pk)
            del memberships[account_id, customer_id]
            withdrawn[account_id] += 1
            self._audit(
                ProvisioningAction.WITHDRAWN,
                customer_id=customer_id,
                account_id=account_id,
                reason=reason,
            )
        if gone:
            BillingAccountMembership.objects.filter(pk__in=gone).delete()
        return withdrawn

    def _grant(
        self, account_id: int, customer: CustomerStanding, membership: _Membership | None
    ) -> tuple[bool, bool, bool]:
        """Returns (granted now, activated now, active); writes happen in _write_grants."""
        verified = customer.email_verified
        if membership is None:
            self.grants.append(
                (
                    customer.pk,
                    account_id,
                    MembershipProvenance.SOLD_TO,
                    GRANTED_BY,
                    self.now if verified else None,
                )
            )
            self._audit(
                ProvisioningAction.GRANTED,
                customer=customer,
                account_id=account_id,
                reason="Sold-To contact of the account."
                if verified
                else "Sold-To contact of the account; waits until the customer confirms "
                "their email address.",
            )
            if not verified and customer.is_active:
                self.links.setdefault(
                    customer.pk, purpose_for(has_usable_password=customer.has_usable_password)
                )
            return True, False, verified
        if (
            membership.provenance == MembershipProvenance.SOLD_TO
            and not membership.is_active
            and verified
        ):
            # Verified since the grant, but the activation did not happen then.
            self.activations.append(membership.pk)
            self._audit(
                ProvisioningAction.ACTIVATED,
                customer=customer,
                account_id=account_id,
                reason="The customer's email address is confirmed.",
            )
            return False, True, True
        return False, False, membership.is_active

    def _write_grants(self) -> None:
        if self.grants:
            insert_rows(BillingAccountMembership, GRANT_FIELDS, self.grants)
        if self.activations:
            BillingAccountMembership.objects.filter(pk__in=self.activations).update(
                activated_at=self.now
            )

    def _record_problems(self, accounts: list[_SoldTo], unusable: dict[int, _Unusable]) -> None:
        """Record why an account was skipped (once per reason), clear it once it is fixed."""
        recorded, cleared = [], []
        for account in accounts:
            problem = unusable.get(account.account_id)
            if problem is None:
                if account.problem or account.problem_at:
                    cleared.append(account.account_id)
                continue
            logger.warning(
                "Sold-To provisioning skipped",
                extra={"account_id": account.account_id, "problem": problem.code},
            )
            if account.problem == problem.reason:
                continue  # already recorded and audited; re-runs add nothing
            recorded.append((account.account_id, problem.reason, self.now))
            self._audit(
                ProvisioningAction.SKIPPED,
                customer=None,
                account_id=account.account_id,
                reason=problem.reason,
            )
        update_by_pk(
            BillingAccount,
            ["sold_to_provisioning_problem", "sold_to_provisioning_problem_at"],
            recorded,
        )
        if cleared:
            BillingAccount.objects.filter(pk__in=cleared).update(
                sold_to_provisioning_problem="", sold_to_provisioning_problem_at=None
            )

    def _audit(
        self,
        action: ProvisioningAction,
        *,
        account_id: int,
        reason: str,
        customer: CustomerStanding | None = None,
        customer_id: int | None = None,
    ) -> None:
        customer_id = customer.pk if customer is not None else customer_id
        self.events.append(
            _event(action, customer_id=customer_id, account_id=account_id, reason=reason)
        )


def _new_customer(email: str, contact: _SoldTo) -> tuple[object, ...]:
    """A customer's row (CUSTOMER_FIELDS) for a Sold-To contact, with no password yet."""
    return (
        email,
        (contact.first_name or "")[:100],
        (contact.last_name or "")[:100],
        CustomerOrigin.SOLD_TO,
        unusable_password(),
    )


def _new_standing(pk: int) -> CustomerStanding:
    return CustomerStanding(pk, email_verified=False, is_active=True, has_usable_password=False)


def _find_or_create_customer(
    lowercase: str, *, email: str, contact: _SoldTo
) -> tuple[CustomerStanding, bool]:
    """One customer, found by its lowercase address or created; safe against a concurrent insert."""
    existing = customers_by_lowercase_email([lowercase]).get(lowercase)
    if existing is not None:
        return existing, False
    try:
        # The loser of a race with another worker uses the winner's row.
        with transaction.atomic():
            [pk] = insert_rows(Customer, CUSTOMER_FIELDS, [_new_customer(email, contact)])
    except IntegrityError:
        return customers_by_lowercase_email([lowercase])[lowercase], False
    return _new_standing(pk), True


def _event(
    action: ProvisioningAction, *, customer_id: int | None, account_id: int, reason: str
) -> tuple[object, ...]:
    """An audit event's row (EVENT_FIELDS), logged without the reason (it may name a contact)."""
    logger.info(
        "Sold-To provisioning: %s",
        action.label,
        extra={"account_id": account_id, "customer_id": customer_id},
    )
    return (action, customer_id, account_id, reason)


def _audit(
    action: ProvisioningAction, *, customer: Customer | None, account_id: int, reason: str
) -> None:
    event = _event(
        action, customer_id=customer.pk if customer else None, account_id=account_id, reason=reason
    )
    insert_rows(ProvisioningEvent, EVENT_FIELDS, [event])
