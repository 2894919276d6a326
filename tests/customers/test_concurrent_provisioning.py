"""Two workers provisioning the same address at once create exactly one customer."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from billing.models import BillingAccountMembership
from customers import provisioning
from customers.models import Customer, ProvisioningAction, ProvisioningEvent
from customers.provisioning import ProvisioningOutcome, provision_sold_to
from tests.customers.conftest import account_with_sold_to

pytestmark = pytest.mark.django_db(transaction=True)


def in_parallel(*calls: Callable[[], ProvisioningOutcome]) -> list[ProvisioningOutcome]:
    start = threading.Barrier(len(calls), timeout=10)
    outcomes: list[ProvisioningOutcome] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], ProvisioningOutcome]) -> None:
        try:
            start.wait()
            outcomes.append(call())
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return outcomes


def test_two_workers_with_the_same_address_create_one_customer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same person is the Sold-To of two accounts, synced by two workers.
    first = account_with_sold_to("grace@example.com")
    second = account_with_sold_to("Grace@Example.com")
    lookups: list[object] = []
    lookup = provisioning.customers_by_lowercase_email
    on_postgresql = connection.vendor == "postgresql"
    # On PostgreSQL, hold both workers after their first lookup found nobody,
    # so that both insert: the unique index must make one of them use the
    # other's row. (SQLite lets one writer in at a time, so there the second
    # waits and finds the first's row.)
    both_looked = threading.Barrier(2, timeout=10)

    def counted_lookup(lowercase: object) -> object:
        found = lookup(lowercase)
        lookups.append(lowercase)
        if on_postgresql and len(lookups) <= 2:
            both_looked.wait()
        return found

    monkeypatch.setattr(provisioning, "customers_by_lowercase_email", counted_lookup)

    outcomes = in_parallel(
        lambda: provision_sold_to(account_id=first.pk),
        lambda: provision_sold_to(account_id=second.pk),
    )

    customer = Customer.objects.get()
    if on_postgresql:
        # The loser's insert was refused and it looked the winner's row up.
        assert len(lookups) == 3
    assert sorted(outcome.created_customer for outcome in outcomes) == [False, True]
    assert {outcome.customer_id for outcome in outcomes} == {customer.pk}
    assert set(BillingAccountMembership.objects.values_list("customer", "billing_account")) == {
        (customer.pk, first.pk),
        (customer.pk, second.pk),
    }
    assert ProvisioningEvent.objects.filter(action=ProvisioningAction.CREATED_CUSTOMER).count() == 1


def test_two_workers_provisioning_one_account_grant_once() -> None:
    account = account_with_sold_to("grace@example.com")

    outcomes = in_parallel(
        lambda: provision_sold_to(account_id=account.pk),
        lambda: provision_sold_to(account_id=account.pk),
    )

    assert sorted(outcome.granted for outcome in outcomes) == [False, True]
    assert Customer.objects.count() == 1
    assert BillingAccountMembership.objects.count() == 1
    assert ProvisioningEvent.objects.filter(action=ProvisioningAction.GRANTED).count() == 1
