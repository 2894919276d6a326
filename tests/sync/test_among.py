"""Among filters on many values passed as one parameter, as `__in` would, on both databases."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext

from billing.models import BillingAccount, BillingAccountContact
from billing.sync.among import Among
from customers.models import Customer
from tests.factories import BillingAccountContactFactory, BillingAccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_keys_text_and_references_select_what_in_selects() -> None:
    accounts = BillingAccountFactory.create_batch(5)
    contacts = [BillingAccountContactFactory(billing_account=account) for account in accounts]
    some = accounts[1:4]

    def both(model: type, field: str, values: list) -> tuple[set, set]:
        among = set(model.objects.filter(Among(field, values)).values_list("pk", flat=True))
        within = set(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
        return among, within

    for model, field, values in [
        (BillingAccount, "pk", [account.pk for account in some]),
        (BillingAccount, "zuora_id", [account.zuora_id for account in some]),
        (BillingAccountContact, "billing_account", [account.pk for account in some]),
        (BillingAccountContact, "billing_account_id", [account.pk for account in some]),
        (BillingAccountContact, "billing_account__zuora_id", [a.zuora_id for a in some]),
    ]:
        among, within = both(model, field, values)
        assert among == within
        assert len(among) == 3
    assert contacts  # the references above point at real rows


def test_no_values_select_nothing_without_a_query_and_unknown_values_are_ignored() -> None:
    BillingAccountFactory()

    with CaptureQueriesContext(connection) as queries:
        assert list(BillingAccount.objects.filter(Among("pk", []))) == []
    assert not queries.captured_queries
    unknown = ["no such id", "x' OR 1=1"]
    assert not BillingAccount.objects.filter(Among("zuora_id", unknown)).exists()


def test_an_annotation_can_be_filtered() -> None:
    grace = CustomerFactory(email="Grace@Example.com")
    CustomerFactory(email="ada@example.com")

    found = Customer.objects.annotate(lower=Lower("email")).filter(
        Among("lower", ["grace@example.com", "nobody@example.com"])
    )

    assert list(found.values_list("pk", flat=True)) == [grace.pk]


def test_values_other_than_keys_and_text_are_prepared_for_the_column() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    account = BillingAccountFactory(zuora_updated_at=at)
    BillingAccountFactory(zuora_updated_at=datetime(2026, 1, 2, tzinfo=UTC))

    found = BillingAccount.objects.filter(Among("zuora_updated_at", [at]))

    assert list(found.values_list("pk", flat=True)) == [account.pk]


def test_the_statement_is_the_same_whatever_the_number_of_values() -> None:
    # One parameter for all the values: the text can be cached and prepared.
    def compiled(count: int) -> tuple[str, tuple]:
        ids = [f"id{n}" for n in range(count)]
        return BillingAccount.objects.filter(Among("zuora_id", ids)).query.sql_with_params()

    one, thousand = compiled(1), compiled(1000)

    assert one[0] == thousand[0]
    assert len(one[1]) == len(thousand[1]) <= 2  # (SQLite adds "= true" to a bare condition)
