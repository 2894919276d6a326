"""insert_many writes new rows as bulk_create would, and sets their primary keys."""

import pytest
from django.db import IntegrityError, transaction

from billing.models import BillingAccountMembership, MembershipProvenance
from billing.sync.upsert import insert_many
from customers.models import Customer, ProvisioningAction, ProvisioningEvent
from tests.factories import BillingAccountFactory

pytestmark = pytest.mark.django_db


def test_new_rows_get_their_keys_and_every_value_as_given() -> None:
    customers = [
        Customer(email=f"p{n}@example.com", first_name=name, last_name="O'Brien, {x}")
        for n, name in enumerate(["Zoë", "NULL", "", 'a "quoted" \\ name'])
    ]
    for customer in customers:
        customer.set_unusable_password()

    insert_many(Customer, customers)

    assert all(customer.pk is not None for customer in customers)
    assert not customers[0]._state.adding
    for customer in customers:
        stored = Customer.objects.get(pk=customer.pk)
        assert (stored.email, stored.first_name, stored.last_name, stored.password) == (
            customer.email,
            customer.first_name,
            customer.last_name,
            customer.password,
        )
        # Model defaults, as the ORM applies them.
        assert stored.is_active
        assert stored.date_joined == customer.date_joined
        assert stored.email_verified_at is None


def test_foreign_keys_and_null_references_are_written() -> None:
    account = BillingAccountFactory()
    customer = Customer(email="grace@example.com")
    customer.set_unusable_password()
    insert_many(Customer, [customer])
    events = [
        ProvisioningEvent(
            action=ProvisioningAction.GRANTED,
            customer_id=customer.pk,
            billing_account_id=account.pk,
            reason="Sold-To contact of the account.",
        ),
        ProvisioningEvent(
            action=ProvisioningAction.SKIPPED,
            customer_id=None,
            billing_account_id=account.pk,
            reason="The account has no Sold-To contact.",
        ),
    ]
    grant = BillingAccountMembership(
        customer=customer,
        billing_account=account,
        provenance=MembershipProvenance.SOLD_TO,
        granted_by="test",
    )

    insert_many(ProvisioningEvent, events)
    insert_many(BillingAccountMembership, [grant])

    assert list(
        ProvisioningEvent.objects.order_by("pk").values_list("pk", "customer_id", "action")
    ) == [
        (events[0].pk, customer.pk, ProvisioningAction.GRANTED),
        (events[1].pk, None, ProvisioningAction.SKIPPED),
    ]
    stored = BillingAccountMembership.objects.get(pk=grant.pk)
    assert (stored.customer_id, stored.billing_account_id) == (customer.pk, account.pk)
    assert stored.granted_at is not None


def test_a_row_that_breaks_a_constraint_raises_djangos_integrity_error_and_writes_nothing() -> None:
    existing = Customer(email="grace@example.com")
    existing.set_unusable_password()
    insert_many(Customer, [existing])
    clash = [Customer(email="new@example.com"), Customer(email="GRACE@example.com")]

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(Customer, clash)

    assert list(Customer.objects.values_list("email", flat=True)) == ["grace@example.com"]
