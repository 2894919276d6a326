"""A sync that sets or changes an account's Sold-To gives that person portal access."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from billing.models import BillingAccount, BillingAccountMembership, MembershipProvenance, SyncKind
from billing.sync import queue
from billing.sync.runner import Outcome, run_pending_sync
from customers.models import Customer, CustomerOrigin
from tests.sync.conftest import new_account
from zuora_emulator.testing import EmulatorHandle

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def sync(kind: SyncKind, zuora_id: str, capture: Capture) -> None:
    # The sync announces Sold-To changes once its transaction commits.
    with capture(execute=True):
        queue.request(kind=kind, zuora_id=zuora_id)
        assert run_pending_sync(kind=kind, zuora_id=zuora_id) == Outcome.DONE


def sold_to_members() -> set[str]:
    return set(
        BillingAccountMembership.objects.filter(
            provenance=MembershipProvenance.SOLD_TO
        ).values_list("customer__email", flat=True)
    )


def test_syncing_a_new_account_invites_its_sold_to(
    zuora: EmulatorHandle, django_capture_on_commit_callbacks: Capture
) -> None:
    remote = new_account(zuora)

    sync(SyncKind.ACCOUNT, remote.id, django_capture_on_commit_callbacks)

    customer = Customer.objects.get()
    assert customer.email == "grace@example.com"
    assert customer.origin == CustomerOrigin.SOLD_TO
    assert sold_to_members() == {"grace@example.com"}
    assert [message.to for message in mail.outbox] == [["grace@example.com"]]


def test_a_sold_to_switch_in_zuora_moves_the_access(
    zuora: EmulatorHandle, django_capture_on_commit_callbacks: Capture
) -> None:
    remote = new_account(zuora)
    sync(SyncKind.ACCOUNT, remote.id, django_capture_on_commit_callbacks)
    lin = zuora.state.create_contact(
        account_key=remote.id,
        fields={"firstName": "Lin", "lastName": "Wei", "workEmail": "Lin.Wei@example.org"},
    )

    zuora.state.update_account(remote.id, sold_to_contact_id=lin.id)
    sync(SyncKind.ACCOUNT, remote.id, django_capture_on_commit_callbacks)

    assert sold_to_members() == {"Lin.Wei@example.org"}
    assert Customer.objects.get(email="Lin.Wei@example.org").first_name == "Lin"


def test_a_sold_to_email_change_in_zuora_moves_the_access(
    zuora: EmulatorHandle, django_capture_on_commit_callbacks: Capture
) -> None:
    remote = new_account(zuora)
    sync(SyncKind.ACCOUNT, remote.id, django_capture_on_commit_callbacks)

    zuora.state.update_contact(remote.sold_to_id, {"workEmail": "g.hopper@example.net"})
    sync(SyncKind.CONTACT, remote.sold_to_id, django_capture_on_commit_callbacks)

    assert sold_to_members() == {"g.hopper@example.net"}


def test_an_invalid_sold_to_email_does_not_fail_the_sync(
    zuora: EmulatorHandle, django_capture_on_commit_callbacks: Capture
) -> None:
    remote = new_account(
        zuora, sold_to={"firstName": "No", "lastName": "Mail", "workEmail": "nobody@localhost"}
    )

    sync(SyncKind.ACCOUNT, remote.id, django_capture_on_commit_callbacks)

    account = BillingAccount.objects.get(zuora_id=remote.id)
    assert account.sold_to_contact.work_email == "nobody@localhost"
    assert "not valid" in account.sold_to_provisioning_problem
    assert not Customer.objects.exists()
