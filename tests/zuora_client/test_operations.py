"""The client's operations against the emulator: what the sync reads, and 404s."""

import httpx
import pytest

from tests.zuora_client.emulated_zuora import (
    ACCOUNT_ROUTE,
    CONTACT_ROUTE,
    RecordingTransport,
    create_account,
)
from zuora import ZuoraNotFound

MISSING_ID = "0" * 32


def test_get_account_returns_the_account_with_both_contacts(emulator, client):
    created = create_account(emulator, 1)

    account = client.get_account(created.id)

    assert account.id == created.id
    assert account.account_number == created.account_number
    assert account.name == "Account 1"
    assert account.status == "Active"
    assert account.currency == "USD"
    assert account.bill_to_id == created.bill_to_id
    assert account.sold_to_id == created.sold_to_id
    assert account.bill_to is not None
    assert account.bill_to.work_email == "bill1@example.com"
    assert account.sold_to is not None
    assert account.sold_to.first_name == "Sold1"
    assert account.sold_to.account_id == created.id
    assert account.updated_date is not None
    assert account.updated_date.utcoffset() is not None
    assert int(account.updated_date.timestamp()) == created.updated_date


def test_get_account_by_account_number(emulator, client):
    created = create_account(emulator, 2)

    assert client.get_account(created.account_number).id == created.id


def test_get_account_is_one_call(emulator, client):
    created = create_account(emulator, 3)

    client.get_account(created.id)

    assert emulator.request_count(ACCOUNT_ROUTE) == 1
    assert client.call_counts()[("get_account", "200")] == 1


def test_get_contact_returns_the_contact(emulator, client):
    created = create_account(emulator, 4)

    contact = client.get_contact(created.bill_to_id)

    assert contact.id == created.bill_to_id
    assert contact.account_id == created.id
    assert (contact.first_name, contact.last_name) == ("Bill4", "Payer")
    assert contact.personal_email == ""
    assert contact.updated_date is not None


def test_missing_account_raises_not_found_without_retrying(emulator, client):
    with pytest.raises(ZuoraNotFound) as caught:
        client.get_account(MISSING_ID)

    assert caught.value.status == 404
    assert caught.value.request_id
    assert not caught.value.retryable
    assert emulator.request_count(ACCOUNT_ROUTE) == 1
    assert client.call_counts()[("get_account", "404")] == 1


def test_missing_contact_raises_not_found(emulator, client):
    with pytest.raises(ZuoraNotFound):
        client.get_contact(MISSING_ID)

    assert emulator.request_count(CONTACT_ROUTE) == 1


def test_purged_account_is_not_found(emulator, client):
    created = create_account(emulator, 5)
    emulator.purge_account(created.id)

    with pytest.raises(ZuoraNotFound):
        client.get_account(created.id)


def test_deleted_contact_is_not_found(emulator, client):
    created = create_account(emulator, 6)
    extra = emulator.state.create_contact(
        account_key=created.id, fields={"firstName": "Temp", "lastName": "Contact"}
    )
    emulator.state.delete_contact(extra.id)

    with pytest.raises(ZuoraNotFound):
        client.get_contact(extra.id)


def test_existing_account_ids_keeps_only_real_accounts(emulator, client):
    real = [create_account(emulator, n).id for n in range(3)]

    found = client.existing_account_ids([*real, MISSING_ID, "f" * 32])

    assert found == set(real)


def test_existing_account_ids_of_nothing_makes_no_call(emulator, client):
    assert client.existing_account_ids([]) == set()
    assert emulator.request_count() == 0


def test_client_asks_for_the_dated_api_version(emulator, make_client, recorder):
    client = make_client(transport=recorder)
    created = create_account(emulator, 7)

    client.get_account(created.id)

    api_requests = [r for r in recorder.sent if r.path != "/oauth/token"]
    assert {r.headers["zuora-version"] for r in api_requests} == {"2025-08-12"}


def test_not_found_is_recognised_in_the_pre_2024_shape_too(emulator, make_client):
    client = make_client(zuora_version="186.0")

    with pytest.raises(ZuoraNotFound):
        client.get_account(MISSING_ID)


class CookieSettingTransport(RecordingTransport):
    """The emulator's answers with a cookie added, as a load balancer in front of Zuora sets."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.headers["Set-Cookie"] = "ZSession=abc123; Path=/"
        return response


def test_cookies_a_response_sets_are_not_sent_back(emulator, make_client):
    created = create_account(emulator, 9)
    recorder = CookieSettingTransport()
    client = make_client(transport=recorder)

    client.get_account(created.id)
    client.get_account(created.id)

    assert len(recorder.sent) == 3  # the token, then two reads
    assert all("cookie" not in sent.headers for sent in recorder.sent)
