"""The sync's `sold_to_changed` signal runs provisioning, and never fails the sender."""

from typing import Any

import pytest
from django.db import transaction

from billing.models import BillingAccount, BillingAccountMembership, MembershipProvenance
from billing.signals import SoldToChange, sold_to_changed
from billing.sync.reconcile import reconcile_accounts
from customers import receivers
from tests.customers.conftest import account_with_sold_to
from tests.sync.test_batch_reconcile import account

pytestmark = pytest.mark.django_db


def test_the_signal_provisions_the_accounts_current_sold_to() -> None:
    account = account_with_sold_to("ann@example.com")

    sold_to_changed.send(
        sender=BillingAccount,
        changes=(
            SoldToChange(
                account_id=account.pk,
                previous_contact_id=None,
                contact_id=account.sold_to_contact_id,
            ),
        ),
    )

    assert BillingAccountMembership.objects.get().customer.email == "ann@example.com"


def test_a_failure_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*, account_id: int) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(receivers, "provision_sold_to", broken)

    sold_to_changed.send(sender=BillingAccount, changes=(SoldToChange(42, None, None),))

    (record,) = [r for r in caplog.records if r.name == "customers.receivers"]
    assert "provision_sold_to --account" in record.getMessage()
    assert record.account_id == 42


def test_a_failed_batch_is_retried_account_by_account(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ann = account_with_sold_to("ann@example.com")
    bob = account_with_sold_to("bob@example.com")
    carol = account_with_sold_to("carol@example.com")
    one_at_a_time = receivers.provision_sold_to

    def broken_batch(account_ids: Any) -> None:
        raise RuntimeError("bug in the batch")

    def broken_for_bob(*, account_id: int) -> Any:
        if account_id == bob.pk:
            raise RuntimeError("bug")
        return one_at_a_time(account_id=account_id)

    monkeypatch.setattr(receivers, "provision_sold_to_accounts", broken_batch)
    monkeypatch.setattr(receivers, "provision_sold_to", broken_for_bob)

    sold_to_changed.send(
        sender=BillingAccount,
        changes=tuple(SoldToChange(a.pk, None, a.sold_to_contact_id) for a in (ann, bob, carol)),
    )

    assert set(BillingAccountMembership.objects.values_list("customer__email", flat=True)) == {
        "ann@example.com",
        "carol@example.com",
    }
    records = [r for r in caplog.records if r.name == "customers.receivers"]
    assert [getattr(r, "account_id", None) for r in records] == [None, bob.pk]
    assert "account by account" in records[0].getMessage()


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
