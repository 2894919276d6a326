"""The database itself keeps the billing data consistent, on SQLite and PostgreSQL."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing.models import BillingAccount, BillingAccountContact, BillingAccountMembership
from tests.factories import (
    BillingAccountContactFactory,
    BillingAccountFactory,
    MembershipFactory,
    zuora_id,
)

pytestmark = pytest.mark.django_db


def test_duplicate_account_zuora_id_is_rejected() -> None:
    account = BillingAccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingAccountFactory(zuora_id=account.zuora_id)


def test_duplicate_account_number_is_rejected() -> None:
    account = BillingAccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingAccountFactory(account_number=account.account_number)


def test_duplicate_contact_zuora_id_is_rejected() -> None:
    contact = BillingAccountContactFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingAccountContactFactory(zuora_id=contact.zuora_id)


@pytest.mark.parametrize(
    "bad_id",
    ["8a8082c45f9d4fb2015f9e5b7c1f1f4", "8A8082C45F9D4FB2015F9E5B7C1F1F4A", "g" * 32],
)
def test_malformed_zuora_id_is_rejected_by_the_database(bad_id: str) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingAccount.objects.create(
            zuora_id=bad_id, account_number="A1", name="x", status="Active", currency="USD"
        )


def test_malformed_zuora_id_is_rejected_by_validation() -> None:
    account = BillingAccountFactory.build(zuora_id="8A8082C45F9D4FB2015F9E5B7C1F1F4A")
    with pytest.raises(ValidationError) as error:
        account.full_clean()
    assert "zuora_id" in error.value.message_dict


def test_deleting_a_contact_nulls_the_accounts_references_to_it() -> None:
    account = BillingAccountFactory()
    bill_to = BillingAccountContactFactory(billing_account=account)
    sold_to = BillingAccountContactFactory(billing_account=account)
    account.bill_to_contact = bill_to
    account.sold_to_contact = sold_to
    account.save()

    bill_to.delete()

    account.refresh_from_db()
    assert account.bill_to_contact is None
    assert account.sold_to_contact == sold_to


def test_one_contact_can_be_both_bill_to_and_sold_to() -> None:
    account = BillingAccountFactory()
    contact = BillingAccountContactFactory(billing_account=account)
    account.bill_to_contact = account.sold_to_contact = contact
    account.save()

    contact.delete()

    account.refresh_from_db()
    assert (account.bill_to_contact, account.sold_to_contact) == (None, None)


def test_deleting_an_account_removes_its_contacts_and_memberships() -> None:
    account = BillingAccountFactory()
    contact = BillingAccountContactFactory(billing_account=account)
    account.bill_to_contact = account.sold_to_contact = contact
    account.save()
    membership = MembershipFactory(billing_account=account)
    other_account = BillingAccountFactory()
    other_contact = BillingAccountContactFactory(billing_account=other_account)

    account.delete()

    assert not BillingAccountContact.objects.filter(pk=contact.pk).exists()
    assert not BillingAccountMembership.objects.filter(pk=membership.pk).exists()
    assert BillingAccountContact.objects.filter(pk=other_contact.pk).exists()
    # The customer is a person, not billing data: they stay.
    membership.customer.refresh_from_db()


def test_a_customer_has_at_most_one_membership_per_account() -> None:
    membership = MembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(customer=membership.customer, billing_account=membership.billing_account)


def test_zuora_id_helper_makes_valid_ids() -> None:
    BillingAccountFactory.build(zuora_id=zuora_id()).full_clean()
