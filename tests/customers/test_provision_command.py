"""`provision_sold_to` provisions every account, idempotently, and says what it did."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.test import override_settings

from billing.models import BillingAccountMembership
from customers import provisioning
from customers.management.commands import provision_sold_to as command
from customers.models import Customer
from tests.customers.conftest import account_with_sold_to

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("provision_sold_to", *args, stdout=out)
    return out.getvalue().strip()


def test_it_provisions_every_account_and_ends_with_a_summary() -> None:
    account_with_sold_to("ann@example.com")
    account_with_sold_to("ANN@example.com")
    account_with_sold_to("not an address")

    summary = run()

    assert summary == (
        "provision_sold_to: 3 accounts, 1 customers created, 2 granted, 0 activated, "
        "0 withdrawn, 2 awaiting verification, 1 skipped (no usable Sold-To email), 0 failed"
    )
    assert Customer.objects.count() == 1
    assert BillingAccountMembership.objects.count() == 2


def test_running_it_again_changes_nothing() -> None:
    account_with_sold_to("ann@example.com")
    run()

    summary = run()

    assert "0 customers created, 0 granted, 0 activated, 0 withdrawn" in summary
    assert Customer.objects.count() == 1


def test_it_can_run_for_one_account() -> None:
    account = account_with_sold_to("ann@example.com")
    account_with_sold_to("bob@example.com")

    summary = run("--account", account.zuora_id)

    assert summary.startswith("provision_sold_to: 1 accounts, 1 customers created")
    assert list(Customer.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_an_unknown_account_is_an_error() -> None:
    with pytest.raises(CommandError, match="No local billing account"):
        run("--account", "0" * 32)


@override_settings(SOLD_TO_PROVISIONING_ENABLED=False)
def test_it_refuses_to_run_while_provisioning_is_off() -> None:
    with pytest.raises(CommandError, match="SOLD_TO_PROVISIONING_ENABLED"):
        run()


def test_a_failed_account_makes_it_fail_after_doing_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = account_with_sold_to("ann@example.com")
    account_with_sold_to("bob@example.com")
    real = provisioning.provision_sold_to

    def fail_for_one(*, account_id: int) -> provisioning.ProvisioningOutcome:
        if account_id == broken.pk:
            raise DatabaseError("connection lost")
        return real(account_id=account_id)

    monkeypatch.setattr(command, "provision_sold_to", fail_for_one)

    with pytest.raises(CommandError, match=r"2 accounts, 1 customers created.*1 failed$"):
        run()
    assert list(Customer.objects.values_list("email", flat=True)) == ["bob@example.com"]
