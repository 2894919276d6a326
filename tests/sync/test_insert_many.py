"""insert_rows writes new rows as bulk_create would, and returns their primary keys."""

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import BillingAccountMembership, MembershipProvenance
from billing.sync.upsert import insert_rows
from customers.models import Customer, ProvisioningAction, ProvisioningEvent, unusable_password
from tests.factories import BillingAccountFactory

pytestmark = pytest.mark.django_db

NAMES = ("email", "first_name", "last_name", "password")


def test_new_rows_get_their_keys_in_order_and_every_value_as_given() -> None:
    rows = [
        (f"p{n}@example.com", name, "O'Brien, {x}", unusable_password())
        for n, name in enumerate(["Zoë", "NULL", "", 'a "quoted" \\ name'])
    ]

    pks = insert_rows(Customer, NAMES, rows)

    assert len(set(pks)) == len(rows)
    for pk, row in zip(pks, rows, strict=True):
        stored = Customer.objects.get(pk=pk)
        assert (stored.email, stored.first_name, stored.last_name, stored.password) == row
        # Model defaults, as the ORM applies them.
        assert stored.is_active
        assert not stored.is_staff
        assert stored.date_joined is not None
        assert stored.email_verified_at is None


def test_no_rows_write_nothing() -> None:
    assert insert_rows(Customer, NAMES, []) == []
    assert not Customer.objects.exists()


def test_foreign_keys_null_references_and_auto_now_add_are_written() -> None:
    account = BillingAccountFactory()
    [customer] = insert_rows(Customer, NAMES, [("grace@example.com", "", "", "!")])

    events = insert_rows(
        ProvisioningEvent,
        ("action", "customer_id", "billing_account_id", "reason"),
        [
            (ProvisioningAction.GRANTED, customer, account.pk, "Sold-To contact of the account."),
            (ProvisioningAction.SKIPPED, None, account.pk, "The account has no Sold-To contact."),
        ],
    )
    [grant] = insert_rows(
        BillingAccountMembership,
        ("customer_id", "billing_account_id", "provenance", "granted_by", "activated_at"),
        [(customer, account.pk, MembershipProvenance.SOLD_TO, "test", None)],
    )

    assert list(
        ProvisioningEvent.objects.order_by("pk").values_list("pk", "customer_id", "action")
    ) == [
        (events[0], customer, ProvisioningAction.GRANTED),
        (events[1], None, ProvisioningAction.SKIPPED),
    ]
    assert all(event.at is not None for event in ProvisioningEvent.objects.all())
    stored = BillingAccountMembership.objects.get(pk=grant)
    assert (stored.customer_id, stored.billing_account_id) == (customer, account.pk)
    assert stored.granted_at is not None  # auto_now_add
    assert stored.activated_at is None  # given, although the field's default is now
    assert stored.role == "manager"  # the field's default


def test_a_row_that_breaks_a_constraint_raises_djangos_integrity_error_and_writes_nothing() -> None:
    insert_rows(Customer, NAMES, [("grace@example.com", "", "", "!")])
    clash = [("new@example.com", "", "", "!"), ("GRACE@example.com", "", "", "!")]

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Customer, NAMES, clash)

    assert list(Customer.objects.values_list("email", flat=True)) == ["grace@example.com"]


def test_a_unique_field_left_to_its_default_is_refused() -> None:
    # One default shared by every row would break the field's uniqueness.
    if connection.vendor != "postgresql":
        pytest.skip("elsewhere the rows go through bulk_create, which computes each default")
    with pytest.raises(ValueError, match="email"):
        insert_rows(Customer, ("first_name",), [("Grace",)])
