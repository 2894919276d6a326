"""The sync's `sold_to_changed` signal runs provisioning, and never fails the sender."""

from typing import Any

import pytest
from django.db import transaction

from billing.models import BillingAccount, BillingAccountMembership, MembershipProvenance
from billing.signals import sold_to_changed
from billing.sync.reconcile import reconcile_accounts
from customers import receivers
from tests.customers.conftest import account_with_sold_to
from tests.sync.test_batch_reconcile import account

pytestmark = pytest.mark.django_db


def test_the_signal_provisions_the_accounts_current_sold_to() -> None:
    account = account_with_sold_to("ann@example.com")

    sold_to_changed.send(
        sender=BillingAccount,
        account_id=account.pk,
        previous_contact_id=None,
        contact_id=account.sold_to_contact_id,
    )

    assert BillingAccountMembership.objects.get().customer.email == "ann@example.com"


def test_a_failure_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*, account_id: int) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(receivers, "provision_sold_to", broken)

    sold_to_changed.send(
        sender=BillingAccount, account_id=42, previous_contact_id=None, contact_id=None
    )

    (record,) = [r for r in caplog.records if r.name == "customers.receivers"]
    assert "provision_sold_to --account" in record.getMessage()
    assert record.account_id == 42


def test_sold_to_access_commits_with_the_sync_that_changed_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A worker killed right after the sync's commit must not leave the new
    # Sold-To without access: nothing would repair it, the data being equal to
    # Zuora's. So the access is written before the commit, not after it.
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        reconcile_accounts([account(number="A1", email="Sold.To@Example.com")])
        members = list(
            BillingAccountMembership.objects.values_list("customer__email", "provenance")
        )

    assert members == [("Sold.To@example.com", MembershipProvenance.SOLD_TO)]
