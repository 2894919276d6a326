"""Parsing Object Query JSON into our account and contact objects."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from zuora import ZuoraResponseError
from zuora.models import parse_account, parse_contact, parse_page

PACIFIC = timezone(timedelta(hours=-8))

# Shaped like the queryAccountByKey sample, with includeNullFields=false (so
# nulls are absent), an extra custom field and fields we do not store.
ACCOUNT_JSON = {
    "id": "8ad0823f8d1f4f7e018d2aa5c1e24b1c",
    "accountNumber": "A00000042",
    "name": "Acme Corp",
    "status": "Active",
    "currency": "USD",
    "batch": "Batch1",
    "billCycleDay": 1,
    "autoPay": False,
    "balance": 120.5,
    "billToId": "8ad0823f8d1f4f7e018d2aa5c1f04b1d",
    "soldToId": "8ad0823f8d1f4f7e018d2aa5c1f64b1e",
    "createdDate": "2025-02-19T23:01:02-08:00",
    "updatedDate": "2025-02-20T00:15:49-08:00",
    "additionalEmailAddresses": "a@example.com,b@example.com",
    "Region__c": "West",
    "billTo": {
        "id": "8ad0823f8d1f4f7e018d2aa5c1f04b1d",
        "accountId": "8ad0823f8d1f4f7e018d2aa5c1e24b1c",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "nickName": "Countess",
        "workEmail": "ada@example.com",
        "address1": "1 Main St",
        "city": "San Jose",
        "state": "CA",
        "postalCode": "95110",
        "country": "United States",
        "asBillTo": True,
        "updatedDate": "2025-02-20T00:15:49-08:00",
    },
    "soldTo": {
        "id": "8ad0823f8d1f4f7e018d2aa5c1f64b1e",
        "firstName": "Grace",
        "lastName": "Hopper",
        "personalEmail": "grace@example.com",
        "mobilePhone": "+1 555 0100",
        "updatedDate": "2025-02-21T08:00:00Z",
    },
}


def test_account_with_expanded_contacts_is_parsed():
    account = parse_account(ACCOUNT_JSON)

    assert account.id == "8ad0823f8d1f4f7e018d2aa5c1e24b1c"
    assert account.account_number == "A00000042"
    assert (account.name, account.status, account.currency, account.batch) == (
        "Acme Corp",
        "Active",
        "USD",
        "Batch1",
    )
    assert account.bill_to_id == "8ad0823f8d1f4f7e018d2aa5c1f04b1d"
    assert account.sold_to_id == "8ad0823f8d1f4f7e018d2aa5c1f64b1e"
    assert account.updated_date == datetime(2025, 2, 20, 0, 15, 49, tzinfo=PACIFIC)
    assert account.bill_to is not None
    assert account.bill_to.nickname == "Countess"
    assert account.bill_to.postal_code == "95110"
    assert account.sold_to is not None
    assert account.sold_to.personal_email == "grace@example.com"


def test_timestamps_are_aware_and_compare_as_instants():
    account = parse_account(ACCOUNT_JSON)

    assert account.updated_date is not None
    assert account.updated_date.utcoffset() == timedelta(hours=-8)
    assert account.sold_to is not None
    assert account.sold_to.updated_date == datetime(2025, 2, 21, 8, 0, tzinfo=UTC)
    assert account.updated_date == datetime(2025, 2, 20, 8, 15, 49, tzinfo=UTC)


def test_expanded_contact_without_account_id_belongs_to_the_account():
    account = parse_account(ACCOUNT_JSON)

    assert account.sold_to is not None
    assert account.sold_to.account_id == ACCOUNT_JSON["id"]


def test_absent_optional_fields_become_blank():
    account = parse_account({"id": "2c92c0f9"})

    assert account.name == ""
    assert account.batch == ""
    assert account.bill_to_id is None
    assert account.sold_to_id is None
    assert account.updated_date is None
    assert account.bill_to is None
    assert account.sold_to is None


def test_null_text_fields_become_empty_strings():
    contact = parse_contact({"id": "c1", "country": None, "workEmail": None, "firstName": "A"})

    assert contact.country == ""
    assert contact.work_email == ""
    assert contact.first_name == "A"
    assert contact.account_id is None


def test_contact_fields_are_all_read():
    contact = parse_contact(
        {
            "id": "c1",
            "accountId": "a1",
            "firstName": "F",
            "lastName": "L",
            "nickName": "N",
            "workEmail": "w@example.com",
            "personalEmail": "p@example.com",
            "workPhone": "1",
            "mobilePhone": "2",
            "homePhone": "3",
            "fax": "4",
            "address1": "A1",
            "address2": "A2",
            "city": "C",
            "county": "CO",
            "state": "S",
            "postalCode": "P",
            "country": "US",
            "taxRegion": "T",
            "description": "ignored",
            "otherPhone": "ignored",
            "updatedDate": "2025-02-20T00:15:49-08:00",
        }
    )

    assert contact.account_id == "a1"
    assert (contact.first_name, contact.last_name, contact.nickname) == ("F", "L", "N")
    assert (contact.work_email, contact.personal_email) == ("w@example.com", "p@example.com")
    assert (contact.work_phone, contact.mobile_phone, contact.home_phone, contact.fax) == (
        "1",
        "2",
        "3",
        "4",
    )
    assert (contact.address1, contact.address2, contact.city, contact.county) == (
        "A1",
        "A2",
        "C",
        "CO",
    )
    assert (contact.state, contact.postal_code, contact.country, contact.tax_region) == (
        "S",
        "P",
        "US",
        "T",
    )


def test_v1_spellings_are_accepted_as_fallbacks():
    contact = parse_contact({"id": "c1", "nickname": "Nick", "zipCode": "10115"})

    assert contact.nickname == "Nick"
    assert contact.postal_code == "10115"


def test_fractional_seconds_are_accepted():
    contact = parse_contact({"id": "c1", "updatedDate": "2016-10-20T05:45:37.000+02:00"})

    assert contact.updated_date == datetime(2016, 10, 20, 3, 45, 37, tzinfo=UTC)


def test_wrong_type_names_the_field():
    bad = {**ACCOUNT_JSON, "billTo": {**ACCOUNT_JSON["billTo"], "workEmail": 42}}

    with pytest.raises(ZuoraResponseError, match=r"account\.billTo\.workEmail") as caught:
        parse_account(bad)

    assert caught.value.field == "account.billTo.workEmail"
    assert "int" in str(caught.value)
    assert not caught.value.retryable


def test_wrong_type_of_id_names_the_field():
    with pytest.raises(ZuoraResponseError) as caught:
        parse_account({**ACCOUNT_JSON, "billToId": 7})

    assert caught.value.field == "account.billToId"


def test_expanded_contact_that_is_not_an_object_is_rejected():
    with pytest.raises(ZuoraResponseError) as caught:
        parse_account({**ACCOUNT_JSON, "soldTo": ["x"]})

    assert caught.value.field == "account.soldTo"


def test_missing_id_is_rejected():
    with pytest.raises(ZuoraResponseError) as caught:
        parse_contact({"firstName": "Ada"})

    assert caught.value.field == "contact.id"


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00Z"])
def test_unparseable_timestamp_names_the_field(value):
    with pytest.raises(ZuoraResponseError) as caught:
        parse_contact({"id": "c1", "updatedDate": value})

    assert caught.value.field == "contact.updatedDate"


def test_timestamp_without_offset_is_rejected():
    with pytest.raises(ZuoraResponseError, match="offset"):
        parse_account({"id": "a1", "updatedDate": "2025-01-01T03:18:09"})


def test_timestamp_of_wrong_type_is_rejected():
    with pytest.raises(ZuoraResponseError) as caught:
        parse_account({"id": "a1", "updatedDate": 1735700000})

    assert caught.value.field == "account.updatedDate"


def test_page_has_records_and_cursor():
    page = parse_page({"data": [{"id": "a"}, {"id": "b"}], "nextPage": "eyJ2YWx1ZSI6MX0="})

    assert [record["id"] for record in page.records] == ["a", "b"]
    assert page.next_page == "eyJ2YWx1ZSI6MX0="


def test_last_page_has_no_cursor():
    assert parse_page({"data": []}).next_page is None


def test_page_with_non_list_data_is_rejected():
    with pytest.raises(ZuoraResponseError) as caught:
        parse_page({"data": {"id": "a"}})

    assert caught.value.field == "page.data"


def test_page_with_non_object_record_names_its_index():
    with pytest.raises(ZuoraResponseError) as caught:
        parse_page({"data": [{"id": "a"}, "b"]})

    assert caught.value.field == "page.data[1]"
