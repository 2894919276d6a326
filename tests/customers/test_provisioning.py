"""Sold-To provisioning: the account's Sold-To becomes a customer with access, safely."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from billing.models import BillingAccountMembership, MembershipProvenance
from customers import email_address, provisioning
from customers.metrics import PROVISIONING_RUNS
from customers.models import Customer, CustomerOrigin, ProvisioningAction, ProvisioningEvent
from customers.provisioning import ProvisioningStatus, provision_sold_to
from tests.customers.conftest import account_with_sold_to, new_sold_to
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def actions(**filters: Any) -> list[str]:
    return list(
        ProvisioningEvent.objects.filter(**filters).order_by("pk").values_list("action", flat=True)
    )


def sold_to_members(account: Any) -> dict[str, bool]:
    return {
        membership.customer.email: membership.is_active
        for membership in BillingAccountMembership.objects.filter(
            billing_account=account, provenance=MembershipProvenance.SOLD_TO
        ).select_related("customer")
    }


def test_new_sold_to_becomes_a_customer_invited_to_set_a_password(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    account = account_with_sold_to("Grace.Hopper@Example.com", first_name="Grace")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = provision_sold_to(account_id=account.pk)

    customer = Customer.objects.get()
    assert customer.email == "Grace.Hopper@example.com"
    assert (customer.first_name, customer.last_name) == ("Grace", "Hopper")
    assert customer.origin == CustomerOrigin.SOLD_TO
    assert not is_password_usable(customer.password)
    assert customer.email_verified_at is None
    # Access waits until the invitation is used: that proves the address.
    assert sold_to_members(account) == {"Grace.Hopper@example.com": False}
    assert outcome.status == ProvisioningStatus.AWAITING_VERIFICATION
    assert outcome.created_customer
    assert outcome.granted
    assert [message.to for message in mail.outbox] == [["Grace.Hopper@example.com"]]
    assert "/portal/set-password/" in mail.outbox[0].body
    assert actions() == [
        ProvisioningAction.CREATED_CUSTOMER,
        ProvisioningAction.GRANTED,
        ProvisioningAction.EMAIL_SENT,
    ]


def test_existing_verified_customer_with_other_letter_case_gets_access_at_once(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    customer = CustomerFactory(email="grace@example.com", email_verified_at=timezone.now())
    account = account_with_sold_to("  GRACE@EXAMPLE.COM ")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = provision_sold_to(account_id=account.pk)

    assert Customer.objects.get() == customer
    assert sold_to_members(account) == {"grace@example.com": True}
    assert outcome.status == ProvisioningStatus.ACTIVE
    assert not outcome.created_customer
    assert mail.outbox == []


def test_existing_unverified_customer_gets_no_access_until_they_confirm(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    # Anyone can sign up with someone else's address: that alone proves nothing.
    customer = CustomerFactory(email="grace@example.com")
    account = account_with_sold_to("Grace@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = provision_sold_to(account_id=account.pk)

    assert outcome.status == ProvisioningStatus.AWAITING_VERIFICATION
    assert sold_to_members(account) == {"grace@example.com": False}
    assert [message.to for message in mail.outbox] == [["grace@example.com"]]
    assert "confirm" in mail.outbox[0].subject.lower()

    assert provisioning.confirm_email_address(customer_id=customer.pk) == 1

    customer.refresh_from_db()
    assert customer.email_verified
    assert sold_to_members(account) == {"grace@example.com": True}
    assert actions(customer=customer)[-1] == ProvisioningAction.ACTIVATED


def test_email_with_unicode_in_a_decomposed_form_matches_the_composed_one() -> None:
    composed = "grace@b\u00fccher.example.com"  # ü as one code point
    decomposed = "grace@bu\u0308cher.example.com"  # u + combining diaeresis
    customer = CustomerFactory(email=composed, email_verified_at=timezone.now())
    account = account_with_sold_to(decomposed)

    provision_sold_to(account_id=account.pk)

    assert Customer.objects.get() == customer
    assert sold_to_members(account) == {composed: True}


@pytest.mark.parametrize(
    ("email", "problem", "reason"),
    [
        ("not an address", "invalid_email", "email address is not valid"),
        ("grace@localhost", "invalid_email", "email address is not valid"),
        ("", "no_email", "has no email address"),
    ],
)
def test_missing_or_invalid_email_skips_provisioning_and_is_recorded_on_the_account(
    email: str, problem: str, reason: str
) -> None:
    account = account_with_sold_to(email)
    skipped_before = PROVISIONING_RUNS.labels(status="skipped", problem=problem)._value.get()

    outcome = provision_sold_to(account_id=account.pk)

    account.refresh_from_db()
    assert outcome.status == ProvisioningStatus.SKIPPED
    assert outcome.problem == problem
    assert reason in account.sold_to_provisioning_problem
    assert account.sold_to_provisioning_problem_at is not None
    assert not Customer.objects.exists()
    assert not BillingAccountMembership.objects.exists()
    assert actions(billing_account=account) == [ProvisioningAction.SKIPPED]
    assert PROVISIONING_RUNS.labels(status="skipped", problem=problem)._value.get() == (
        skipped_before + 1
    )


def test_a_fixed_email_clears_the_recorded_problem() -> None:
    account = account_with_sold_to("grace at example.com")
    provision_sold_to(account_id=account.pk)
    provision_sold_to(account_id=account.pk)  # recorded and audited once
    assert actions(billing_account=account) == [ProvisioningAction.SKIPPED]

    account.sold_to_contact.work_email = "grace@example.com"
    account.sold_to_contact.save()
    provision_sold_to(account_id=account.pk)

    account.refresh_from_db()
    assert account.sold_to_provisioning_problem == ""
    assert account.sold_to_provisioning_problem_at is None
    assert sold_to_members(account) == {"grace@example.com": False}


def test_personal_email_is_used_when_there_is_no_work_email() -> None:
    account = account_with_sold_to("", personal_email="grace.home@example.org")

    provision_sold_to(account_id=account.pk)

    assert sold_to_members(account) == {"grace.home@example.org": False}


def test_sold_to_switching_back_and_forth_moves_the_access(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    ann = CustomerFactory(email="ann@example.com", email_verified_at=timezone.now())
    bob = CustomerFactory(email="bob@example.com", email_verified_at=timezone.now())
    account = account_with_sold_to("ann@example.com")
    ann_contact = account.sold_to_contact
    provision_sold_to(account_id=account.pk)

    bob_contact = new_sold_to(account, "bob@example.com")
    outcome = provision_sold_to(account_id=account.pk)
    assert outcome.withdrawn == 1
    assert sold_to_members(account) == {"bob@example.com": True}

    account.sold_to_contact = ann_contact
    account.save()
    provision_sold_to(account_id=account.pk)
    assert sold_to_members(account) == {"ann@example.com": True}

    account.sold_to_contact = bob_contact
    account.save()
    provision_sold_to(account_id=account.pk)
    assert sold_to_members(account) == {"bob@example.com": True}

    granted, withdrawn = ProvisioningAction.GRANTED, ProvisioningAction.WITHDRAWN
    assert actions(customer=ann) == [granted, withdrawn, granted, withdrawn]
    assert actions(customer=bob) == [granted, withdrawn, granted]
    assert ProvisioningEvent.objects.filter(action=withdrawn).first().reason == (
        "No longer the Sold-To contact."
    )
    assert Customer.objects.count() == 2
    assert mail.outbox == []


def test_sold_to_email_changing_to_someone_else_moves_the_access() -> None:
    account = account_with_sold_to("ann@example.com")
    provision_sold_to(account_id=account.pk)

    account.sold_to_contact.work_email = "bob@example.com"
    account.sold_to_contact.save()
    provision_sold_to(account_id=account.pk)

    assert sold_to_members(account) == {"bob@example.com": False}
    assert set(Customer.objects.values_list("email", flat=True)) == {
        "ann@example.com",
        "bob@example.com",
    }


def test_invalid_email_of_a_new_sold_to_still_withdraws_the_former_one() -> None:
    account = account_with_sold_to("ann@example.com")
    provision_sold_to(account_id=account.pk)

    new_sold_to(account, "nobody@")
    outcome = provision_sold_to(account_id=account.pk)

    assert outcome.status == ProvisioningStatus.SKIPPED
    assert outcome.withdrawn == 1
    assert sold_to_members(account) == {}


def test_memberships_granted_by_hand_are_never_touched() -> None:
    account = account_with_sold_to("ann@example.com")
    ann = CustomerFactory(email="ann@example.com", email_verified_at=timezone.now())
    carol = CustomerFactory(email="carol@example.com")
    MembershipFactory(customer=ann, billing_account=account)  # manual
    MembershipFactory(customer=carol, billing_account=account)  # manual

    outcome = provision_sold_to(account_id=account.pk)
    new_sold_to(account, "carol@example.com")
    provision_sold_to(account_id=account.pk)
    account.sold_to_contact = None
    account.save()
    provision_sold_to(account_id=account.pk)

    assert not outcome.granted
    assert set(BillingAccountMembership.objects.values_list("customer__email", "provenance")) == {
        ("ann@example.com", "manual"),
        ("carol@example.com", "manual"),
    }
    assert not ProvisioningEvent.objects.exclude(action=ProvisioningAction.SKIPPED).exists()


def test_running_again_changes_nothing(django_capture_on_commit_callbacks: Capture) -> None:
    account = account_with_sold_to("grace@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        provision_sold_to(account_id=account.pk)
    events = ProvisioningEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        outcome = provision_sold_to(account_id=account.pk)

    assert (outcome.created_customer, outcome.granted, outcome.withdrawn) == (False, False, 0)
    assert outcome.status == ProvisioningStatus.AWAITING_VERIFICATION
    assert ProvisioningEvent.objects.count() == events
    assert len(mail.outbox) == 1


def test_access_waiting_after_a_confirmation_is_activated_by_the_next_run() -> None:
    account = account_with_sold_to("grace@example.com")
    provision_sold_to(account_id=account.pk)
    Customer.objects.update(email_verified_at=timezone.now())

    outcome = provision_sold_to(account_id=account.pk)

    assert outcome.activated
    assert sold_to_members(account) == {"grace@example.com": True}


@override_settings(SOLD_TO_PROVISIONING_ENABLED=False)
def test_turned_off_it_does_nothing() -> None:
    account = account_with_sold_to("grace@example.com")

    outcome = provision_sold_to(account_id=account.pk)

    assert outcome.status == ProvisioningStatus.DISABLED
    assert not Customer.objects.exists()
    assert not ProvisioningEvent.objects.exists()


def test_unknown_account_is_reported_not_raised() -> None:
    assert provision_sold_to(account_id=987654).status == ProvisioningStatus.ACCOUNT_MISSING


def test_customer_created_meanwhile_by_another_worker_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another worker inserts the customer between this run's lookup and its
    # insert: the unique constraint refuses the second row, and the run goes on
    # with the first.
    account = account_with_sold_to("grace@example.com")
    lookup = email_address.customers_by_lowercase_email
    calls = []

    def lookup_missing_the_other_workers_row(lowercase: Any) -> Any:
        calls.append(lowercase)
        if len(calls) == 1:
            CustomerFactory(email="GRACE@example.com")
            return {}
        return lookup(lowercase)

    monkeypatch.setattr(
        provisioning, "customers_by_lowercase_email", lookup_missing_the_other_workers_row
    )

    outcome = provision_sold_to(account_id=account.pk)

    assert not outcome.created_customer
    assert Customer.objects.get().email == "GRACE@example.com"
    assert sold_to_members(account) == {"GRACE@example.com": False}
