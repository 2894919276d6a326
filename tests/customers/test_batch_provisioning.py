"""Many accounts provisioned together: the same rules as one, in a constant number of queries."""

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingAccount, BillingAccountMembership, MembershipProvenance
from customers import email_address, provisioning
from customers.metrics import PROVISIONING_RUNS
from customers.models import Customer, ProvisioningAction, ProvisioningEvent
from customers.provisioning import ProvisioningStatus, provision_sold_to_accounts
from tests.customers.conftest import account_with_sold_to, new_sold_to
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def mixed_page(tag: str, size: int) -> list[BillingAccount]:
    """`size` accounts of each kind: new customer, verified customer, unverified customer,
    no email, invalid email, and a Sold-To that changed from a provisioned one."""
    accounts = []
    for n in range(size):
        accounts.append(account_with_sold_to(f"new-{tag}{n}@example.com"))
        CustomerFactory(email=f"verified-{tag}{n}@example.com", email_verified_at=timezone.now())
        accounts.append(account_with_sold_to(f"Verified-{tag}{n}@Example.com"))
        CustomerFactory(email=f"waiting-{tag}{n}@example.com")
        accounts.append(account_with_sold_to(f"waiting-{tag}{n}@example.com"))
        accounts.append(account_with_sold_to(""))
        accounts.append(account_with_sold_to(f"broken-{tag}{n} at example.com"))
        moved = account_with_sold_to(f"former-{tag}{n}@example.com")
        provision_sold_to_accounts([moved.pk])
        new_sold_to(moved, f"successor-{tag}{n}@example.com")
        accounts.append(moved)
    return accounts


def sold_to_members(accounts: list[BillingAccount]) -> dict[int, set[tuple[str, bool]]]:
    found: dict[int, set[tuple[str, bool]]] = {account.pk: set() for account in accounts}
    for membership in BillingAccountMembership.objects.filter(
        billing_account__in=accounts, provenance=MembershipProvenance.SOLD_TO
    ).select_related("customer"):
        found[membership.billing_account_id].add((membership.customer.email, membership.is_active))
    return found


def test_a_larger_batch_costs_no_more_queries(django_capture_on_commit_callbacks: Capture) -> None:
    small, large = mixed_page("s", 1), mixed_page("l", 8)
    mail.outbox.clear()

    with CaptureQueriesContext(connection) as few, django_capture_on_commit_callbacks() as sent:
        provision_sold_to_accounts(account.pk for account in small)
    with CaptureQueriesContext(connection) as many, django_capture_on_commit_callbacks():
        provision_sold_to_accounts(account.pk for account in large)

    assert len(many.captured_queries) == len(few.captured_queries)
    # The set-password links go out after the commit, in one go.
    assert len(sent) == 1


def test_a_mixed_batch_gets_what_each_account_would_get_alone(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    new, verified, waiting, no_email, invalid, moved = mixed_page("m", 1)
    mail.outbox.clear()
    ProvisioningEvent.objects.all().delete()
    skipped_before = PROVISIONING_RUNS.labels(status="skipped", problem="no_email")._value.get()

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = provision_sold_to_accounts(
            [new.pk, verified.pk, waiting.pk, no_email.pk, invalid.pk, moved.pk, 987654]
        )

    assert sold_to_members([new, verified, waiting, no_email, invalid, moved]) == {
        new.pk: {("new-m0@example.com", False)},
        verified.pk: {("verified-m0@example.com", True)},
        waiting.pk: {("waiting-m0@example.com", False)},
        no_email.pk: set(),
        invalid.pk: set(),
        moved.pk: {("successor-m0@example.com", False)},
    }
    assert {pk: outcome.status for pk, outcome in outcomes.items()} == {
        new.pk: ProvisioningStatus.AWAITING_VERIFICATION,
        verified.pk: ProvisioningStatus.ACTIVE,
        waiting.pk: ProvisioningStatus.AWAITING_VERIFICATION,
        no_email.pk: ProvisioningStatus.SKIPPED,
        invalid.pk: ProvisioningStatus.SKIPPED,
        moved.pk: ProvisioningStatus.AWAITING_VERIFICATION,
        987654: ProvisioningStatus.ACCOUNT_MISSING,
    }
    assert [outcomes[pk].created_customer for pk in (new.pk, verified.pk, moved.pk)] == [
        True,
        False,
        True,
    ]
    assert outcomes[moved.pk].withdrawn == 1
    assert (outcomes[no_email.pk].problem, outcomes[invalid.pk].problem) == (
        "no_email",
        "invalid_email",
    )
    no_email.refresh_from_db()
    invalid.refresh_from_db()
    assert "has no email address" in no_email.sold_to_provisioning_problem
    assert "not valid" in invalid.sold_to_provisioning_problem
    assert PROVISIONING_RUNS.labels(status="skipped", problem="no_email")._value.get() == (
        skipped_before + 1
    )
    # The former Sold-To keeps their customer row, not the access.
    assert Customer.objects.filter(email="former-m0@example.com").exists()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "new-m0@example.com",
        "successor-m0@example.com",
        "waiting-m0@example.com",
    ]
    events = ProvisioningEvent.objects.values_list("billing_account", "action")
    assert Counter(events) == Counter(
        [
            (new.pk, ProvisioningAction.CREATED_CUSTOMER),
            (new.pk, ProvisioningAction.GRANTED),
            (verified.pk, ProvisioningAction.GRANTED),
            (waiting.pk, ProvisioningAction.GRANTED),
            (no_email.pk, ProvisioningAction.SKIPPED),
            (invalid.pk, ProvisioningAction.SKIPPED),
            (moved.pk, ProvisioningAction.CREATED_CUSTOMER),
            (moved.pk, ProvisioningAction.WITHDRAWN),
            (moved.pk, ProvisioningAction.GRANTED),
            (None, ProvisioningAction.EMAIL_SENT),
            (None, ProvisioningAction.EMAIL_SENT),
            (None, ProvisioningAction.EMAIL_SENT),
        ]
    )

    # Level-triggered: running the batch again changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = provision_sold_to_accounts([new.pk, verified.pk, waiting.pk, moved.pk])
    assert not any(o.granted or o.created_customer or o.withdrawn for o in again.values())
    assert len(mail.outbox) == 3


def test_one_address_on_several_accounts_of_a_batch_is_one_customer_invited_once(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    first = account_with_sold_to("grace@example.com")
    second = account_with_sold_to("Grace@Example.com")

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = provision_sold_to_accounts([first.pk, second.pk])

    customer = Customer.objects.get()
    assert customer.email == "grace@example.com"
    assert [outcomes[first.pk].created_customer, outcomes[second.pk].created_customer] == [
        True,
        False,
    ]
    assert set(BillingAccountMembership.objects.values_list("customer", "billing_account")) == {
        (customer.pk, first.pk),
        (customer.pk, second.pk),
    }
    assert [message.to for message in mail.outbox] == [["grace@example.com"]]


def test_hand_granted_access_in_a_batch_is_kept_and_not_duplicated() -> None:
    account = account_with_sold_to("ann@example.com")
    ann = CustomerFactory(email="ann@example.com", email_verified_at=timezone.now())
    MembershipFactory(customer=ann, billing_account=account)
    other = account_with_sold_to("")
    MembershipFactory(billing_account=other)

    outcomes = provision_sold_to_accounts([account.pk, other.pk])

    assert not outcomes[account.pk].granted
    assert outcomes[account.pk].status == ProvisioningStatus.ACTIVE
    assert outcomes[other.pk].withdrawn == 0
    assert set(BillingAccountMembership.objects.values_list("provenance", flat=True)) == {
        MembershipProvenance.MANUAL
    }


def test_a_customer_created_meanwhile_by_another_worker_only_slows_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another worker inserts one of the batch's new customers between the
    # batch's lookup and its insert: the unique constraint refuses the batch
    # insert, and the batch creates its customers one at a time instead.
    raced = account_with_sold_to("grace@example.com")
    others = [account_with_sold_to(f"other{n}@example.com") for n in range(3)]
    lookup = email_address.customers_by_lowercase_email
    calls: list[object] = []

    def lookup_missing_the_other_workers_row(lowercase: Any) -> Any:
        calls.append(lowercase)
        if len(calls) == 1:
            CustomerFactory(email="GRACE@example.com")
            return {}
        return lookup(lowercase)

    monkeypatch.setattr(
        provisioning, "customers_by_lowercase_email", lookup_missing_the_other_workers_row
    )

    outcomes = provision_sold_to_accounts([raced.pk, *(account.pk for account in others)])

    assert not outcomes[raced.pk].created_customer
    assert all(outcomes[account.pk].created_customer for account in others)
    assert Customer.objects.count() == 4
    assert sold_to_members([raced]) == {raced.pk: {("GRACE@example.com", False)}}
    assert ProvisioningEvent.objects.filter(action=ProvisioningAction.CREATED_CUSTOMER).count() == 3


def test_more_addresses_than_one_result_row_may_hold_are_lowered_in_several_queries() -> None:
    # PostgreSQL allows 1,664 columns in a result and SQLite 2,000: a batch of
    # 2,100 Sold-To addresses once failed here and fell back to one account at a time.
    # (ASCII addresses are lowered without a query: these are not ASCII.)
    emails = [f"Pérson.{n}@Example.COM" for n in range(2_100)] + ["ÄNNE@EXAMPLE.COM"]
    email_address.lowercase_emails(["Grace@Example.COM"])  # the one-time check

    with CaptureQueriesContext(connection) as queries:
        lowered = email_address.lowercase_emails(emails + emails[:10])

    assert len(queries.captured_queries) == 3
    assert lowered["Pérson.2099@Example.COM"] == "pérson.2099@example.com"
    assert len(lowered) == len(emails)
    # The database's own LOWER(), not Python's: SQLite folds ASCII letters only.
    assert lowered["ÄNNE@EXAMPLE.COM"] in {"änne@example.com", "Änne@example.com"}


def test_ascii_addresses_are_lowered_as_the_database_would_without_asking_it() -> None:
    emails = [
        "Grace.Hopper+Navy@Example.COM",
        "O'Brien@EXAMPLE.org",
        "A_B-C@x.IO",
        "Zoë@Example.COM",
    ]
    email_address.lowercase_emails(["Grace@Example.COM"])  # the one-time check

    with CaptureQueriesContext(connection) as queries:
        lowered = email_address.lowercase_emails(emails)

    # Only the address with a letter outside ASCII went to the database.
    [query] = queries.captured_queries
    assert query["sql"].count("LOWER(") == 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(['LOWER(CAST(%s AS TEXT))'] * len(emails))}", emails)
        assert lowered == dict(zip(emails, cursor.fetchone(), strict=True))
