"""Where a callout's id may be: every accepted name, in JSON, form and query string."""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from billing.models import CalloutReceipt, PendingSync, SyncKind
from tests.callouts.conftest import (
    ACCOUNT_URL,
    AUTHORIZED,
    CONTACT_URL,
    post_form,
    post_json,
    recorded,
)
from tests.factories import zuora_id

ACCOUNT_NAMES = [
    "AccountId",
    "accountId",
    "account_id",
    "AccountID",
    "Account.Id",
    "account-id",
    "DataSource.Account.Id",
    "zuora_id",
    "id",
    "ID",
]
CONTACT_NAMES = [
    "ContactId",
    "contactId",
    "contact_id",
    "ContactID",
    "Contact.Id",
    "DataSource.Contact.Id",
    "zuora_id",
    "id",
]


def as_json(client: Client, url: str, fields: dict[str, str]) -> Any:
    return post_json(client, url, fields, **AUTHORIZED)


def as_form(client: Client, url: str, fields: dict[str, str]) -> Any:
    return post_form(client, url, fields, headers=AUTHORIZED)


def as_get(client: Client, url: str, fields: dict[str, str]) -> Any:
    return client.get(url, fields, headers=AUTHORIZED)


def as_post_query_string(client: Client, url: str, fields: dict[str, str]) -> Any:
    return client.post(f"{url}?{urlencode(fields)}", b"", content_type="", headers=AUTHORIZED)


SENDERS = [
    pytest.param(as_json, id="json"),
    pytest.param(as_form, id="form"),
    pytest.param(as_get, id="get"),
    pytest.param(as_post_query_string, id="post-query-string"),
]
type Sender = Callable[[Client, str, dict[str, str]], Any]


@pytest.mark.parametrize("send", SENDERS)
@pytest.mark.parametrize("name", ACCOUNT_NAMES)
def test_account_id_is_read_under_every_accepted_name(
    zuora: Client, send: Sender, name: str
) -> None:
    account_id = zuora_id()

    response = send(zuora, ACCOUNT_URL, {name: account_id})

    assert response.status_code == 200, response.content
    pending = PendingSync.objects.get()
    assert (pending.kind, pending.zuora_id) == (SyncKind.ACCOUNT, account_id)


@pytest.mark.parametrize("send", SENDERS)
@pytest.mark.parametrize("name", CONTACT_NAMES)
def test_contact_id_is_read_under_every_accepted_name(
    zuora: Client, send: Sender, name: str
) -> None:
    contact_id = zuora_id()

    response = send(zuora, CONTACT_URL, {name: contact_id})

    assert response.status_code == 200, response.content
    pending = PendingSync.objects.get()
    assert (pending.kind, pending.zuora_id) == (SyncKind.CONTACT, contact_id)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(lambda i: {"Account": {"Id": i}}, id="Account.Id"),
        pytest.param(lambda i: {"DataSource": {"Account": {"Id": i}}}, id="DataSource.Account.Id"),
    ],
)
def test_nested_json_objects_are_read_like_dotted_names(zuora: Client, document) -> None:
    account_id = zuora_id()

    response = post_json(zuora, ACCOUNT_URL, document(account_id), **AUTHORIZED)

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == account_id


def test_emulator_style_callout_with_extra_fields_is_recorded(zuora: Client) -> None:
    account_id, contact_id = zuora_id(), zuora_id()
    body = {
        "EventType": "ContactUpdated",
        "EventTimestamp": "2026-01-01T10:00:00-08:00",
        "AccountId": account_id,
        "AccountNumber": "A00000001",
        "ContactId": contact_id,
    }

    response = post_json(zuora, CONTACT_URL, body, **AUTHORIZED)

    assert response.status_code == 200
    receipt = CalloutReceipt.objects.get()
    assert (receipt.kind, receipt.zuora_id, receipt.account_zuora_id) == (
        SyncKind.CONTACT,
        contact_id,
        account_id,
    )


def test_specific_name_wins_over_generic_id(zuora: Client) -> None:
    account_id = zuora_id()

    response = post_json(
        zuora, ACCOUNT_URL, {"id": zuora_id(), "AccountId": account_id}, **AUTHORIZED
    )

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == account_id


def test_body_wins_over_query_string_for_the_same_name(zuora: Client) -> None:
    in_body = zuora_id()

    response = zuora.post(
        f"{ACCOUNT_URL}?AccountId={zuora_id()}",
        data=json.dumps({"AccountId": in_body}),
        content_type="application/json",
        headers=AUTHORIZED,
    )

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == in_body


def test_specific_name_in_query_string_wins_over_generic_id_in_body(zuora: Client) -> None:
    in_query = zuora_id()

    response = zuora.post(
        f"{ACCOUNT_URL}?AccountId={in_query}",
        data=json.dumps({"id": zuora_id()}),
        content_type="application/json",
        headers=AUTHORIZED,
    )

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == in_query


def test_one_name_sent_twice_with_different_values_is_refused(zuora: Client) -> None:
    response = zuora.post(
        ACCOUNT_URL,
        f"AccountId={zuora_id()}&account_id={zuora_id()}",
        content_type="application/x-www-form-urlencoded",
        headers=AUTHORIZED,
    )

    assert response.status_code == 400
    assert "more than once" in response.json()["error"]
    assert recorded() == (0, 0)


def test_one_name_sent_twice_with_the_same_value_is_recorded(zuora: Client) -> None:
    account_id = zuora_id()

    response = zuora.post(
        ACCOUNT_URL,
        f"AccountId={account_id}&AccountId={account_id}",
        content_type="application/x-www-form-urlencoded",
        headers=AUTHORIZED,
    )

    assert response.status_code == 200


def test_upper_case_id_is_stored_in_lower_case(zuora: Client) -> None:
    account_id = zuora_id()

    response = post_json(zuora, ACCOUNT_URL, {"AccountId": account_id.upper()}, **AUTHORIZED)

    assert response.status_code == 200
    assert CalloutReceipt.objects.get().zuora_id == account_id
    assert PendingSync.objects.get().zuora_id == account_id


def test_whitespace_around_the_id_is_ignored(zuora: Client) -> None:
    account_id = zuora_id()

    response = as_form(zuora, ACCOUNT_URL, {"AccountId": f" {account_id}\n"})

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == account_id


def test_contact_callout_keeps_the_account_id_sent_along(zuora: Client) -> None:
    contact_id, account_id = zuora_id(), zuora_id()

    response = as_form(zuora, CONTACT_URL, {"id": contact_id, "Contact.AccountId": account_id})

    assert response.status_code == 200
    receipt = CalloutReceipt.objects.get()
    assert (receipt.zuora_id, receipt.account_zuora_id) == (contact_id, account_id)


def test_contact_callout_with_an_empty_account_id_is_recorded_without_one(zuora: Client) -> None:
    response = as_form(zuora, CONTACT_URL, {"ContactId": zuora_id(), "AccountId": ""})

    assert response.status_code == 200
    assert CalloutReceipt.objects.get().account_zuora_id == ""


def test_contact_callout_with_a_malformed_account_id_is_refused(zuora: Client) -> None:
    response = as_form(zuora, CONTACT_URL, {"ContactId": zuora_id(), "AccountId": "A-1"})

    assert response.status_code == 400
    assert "'AccountId'" in response.json()["error"]
    assert recorded() == (0, 0)


def test_account_id_alone_does_not_make_a_contact_callout(zuora: Client) -> None:
    response = as_form(zuora, CONTACT_URL, {"AccountId": zuora_id()})

    assert response.status_code == 400
    assert "ContactId" in response.json()["error"]
    assert recorded() == (0, 0)


@pytest.mark.parametrize("content_type", ["text/plain", ""])
def test_undeclared_body_is_read_as_json_when_it_looks_like_json(
    zuora: Client, content_type: str
) -> None:
    account_id = zuora_id()

    response = zuora.post(
        ACCOUNT_URL,
        json.dumps({"AccountId": account_id}),
        content_type=content_type,
        headers=AUTHORIZED,
    )

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == account_id


@pytest.mark.parametrize("content_type", ["text/plain", ""])
def test_undeclared_body_is_read_as_form_fields_otherwise(zuora: Client, content_type: str) -> None:
    account_id = zuora_id()

    response = zuora.post(
        ACCOUNT_URL, f"AccountId={account_id}", content_type=content_type, headers=AUTHORIZED
    )

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == account_id


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json; charset=UTF-8", '{"AccountId": "%s", "Name": "Müller"}'),
        ("application/json", '\ufeff{"AccountId": "%s"}'),
        ("application/vnd.zuora+json", '{"AccountId": "%s"}'),
        ("application/x-www-form-urlencoded; charset=ISO-8859-1", "AccountId=%s&Name=Müller"),
        ("APPLICATION/JSON; charset=us-ascii", '{"AccountId": "%s"}'),
    ],
    ids=["json-utf8", "json-bom", "json-suffix", "form-latin1", "json-ascii"],
)
def test_declared_types_and_charsets_are_read(zuora: Client, content_type: str, body: str) -> None:
    account_id = zuora_id()

    # The test client encodes the text in the charset the content type names.
    response = zuora.post(
        ACCOUNT_URL, body % account_id, content_type=content_type, headers=AUTHORIZED
    )

    assert response.status_code == 200, response.content
    assert PendingSync.objects.get().zuora_id == account_id


def test_url_with_a_trailing_slash_is_accepted(zuora: Client) -> None:
    response = post_json(zuora, ACCOUNT_URL + "/", {"AccountId": zuora_id()}, **AUTHORIZED)

    assert response.status_code == 200


def test_get_ignores_a_body(zuora: Client) -> None:
    account_id = zuora_id()

    response = zuora.generic(
        "GET",
        f"{ACCOUNT_URL}?AccountId={account_id}",
        data=b"not json",
        content_type="application/json",
        headers=AUTHORIZED,
    )

    assert response.status_code == 200
    assert PendingSync.objects.get().zuora_id == account_id
