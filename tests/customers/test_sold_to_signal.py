"""The sync's `sold_to_changed` signal runs provisioning, and never fails the sender."""

import pytest

from billing.models import BillingAccount, BillingAccountMembership
from billing.signals import sold_to_changed
from customers import receivers
from tests.customers.conftest import account_with_sold_to

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
