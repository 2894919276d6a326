"""REST v1 accounts: create, read by id or number, update, switch contacts, delete."""

from __future__ import annotations

import re

import httpx
import pytest
from zuora_sdk.models import (
    AccountDetailResponse,
    CommonResponse,
    CreateAccountResponse,
    DeleteAccountResponse,
)

from tests.emulator.conftest import api_client, new_account
from zuora_emulator.testing import EmulatorHandle, wait_until

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_create_account_returns_ids_of_account_and_both_contacts(api: httpx.Client) -> None:
    created = CreateAccountResponse.from_dict(new_account(api))

    assert HEX32.fullmatch(created.account_id)
    assert created.account_number == "A00000001"
    assert HEX32.fullmatch(created.bill_to_contact_id)
    # Without a Sold-To the emulator copies the Bill-To into a second contact.
    assert created.sold_to_contact_id != created.bill_to_contact_id


def test_sold_to_same_as_bill_to_makes_one_contact(api: httpx.Client) -> None:
    created = new_account(api, soldToSameAsBillTo=True)

    assert created["soldToContactId"] == created["billToContactId"]


def test_get_account_by_id_and_by_number_matches_the_sdk_model(api: httpx.Client) -> None:
    created = new_account(
        api,
        accountNumber="ACME-1",
        soldToContact={"firstName": "José", "lastName": "García", "workEmail": "JOSE@example.com"},
    )

    by_id = api.get(f"/v1/accounts/{created['accountId']}")
    by_number = api.get("/v1/accounts/ACME-1")

    assert by_id.status_code == by_number.status_code == 200
    assert by_id.json() == by_number.json()
    detail = AccountDetailResponse.from_dict(by_id.json())
    assert detail.success is True
    assert detail.basic_info.id == created["accountId"]
    assert detail.basic_info.account_number == "ACME-1"
    assert detail.basic_info.status == "Active"
    assert detail.bill_to_contact.id == created["billToContactId"]
    assert detail.bill_to_contact.work_email == "Zoe.Mueller@Example.COM"
    assert detail.sold_to_contact.first_name == "José"
    assert detail.billing_and_payment.currency == "EUR"
    # The v1 account and its contacts carry no timestamps [GETACC].
    assert "updatedDate" not in by_id.json()["basicInfo"]


def test_missing_required_field_is_category_22(api: httpx.Client) -> None:
    response = api.post("/v1/accounts", json={"name": "No currency", "billToContact": {}})

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["reasons"][0]["code"] == 50000022
    assert body["requestId"] == response.headers["Zuora-Request-Id"]


def test_contact_without_last_name_is_refused(api: httpx.Client) -> None:
    response = api.post(
        "/v1/accounts",
        json={"name": "X", "currency": "USD", "billToContact": {"firstName": "Solo"}},
    )

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000022


def test_malformed_json_is_category_90(api: httpx.Client) -> None:
    response = api.post(
        "/v1/accounts", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000090


def test_duplicate_account_number_is_refused(api: httpx.Client) -> None:
    new_account(api, accountNumber="DUP-1")
    response = api.post(
        "/v1/accounts",
        json={
            "name": "Again",
            "currency": "USD",
            "accountNumber": "DUP-1",
            "billToContact": {"firstName": "A", "lastName": "B"},
        },
    )

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000030


def test_unknown_account_is_404_with_category_40(api: httpx.Client) -> None:
    response = api.get("/v1/accounts/0123456789abcdef0123456789abcdef")

    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["reasons"][0]["code"] == 50000040
    assert AccountDetailResponse.from_dict(body).success is False


@pytest.mark.parametrize("version", [None, "186.0", "211.0"])
def test_before_2024_05_20_errors_answer_200_with_success_false(
    zuora: EmulatorHandle, version: str | None
) -> None:
    with api_client(zuora, version=version) as old_client:
        response = old_client.get("/v1/accounts/missing")

    assert response.status_code == 200
    assert response.json()["success"] is False
    assert response.json()["reasons"][0]["code"] == 50000040


def test_tenant_default_version_is_configurable(zuora: EmulatorHandle) -> None:
    zuora.configure(default_version="2024-05-20")
    with api_client(zuora, version=None) as client:
        assert client.get("/v1/accounts/missing").status_code == 404


def test_update_account_fields(api: httpx.Client) -> None:
    created = new_account(api)

    response = api.put(
        f"/v1/accounts/{created['accountId']}",
        json={"name": "Øresund AB", "notes": "VIP", "crmId": "CRM-9", "Segment__c": "EMEA"},
    )

    assert response.status_code == 200
    assert CommonResponse.from_dict(response.json()).success is True
    info = api.get(f"/v1/accounts/{created['accountId']}").json()["basicInfo"]
    assert (info["name"], info["notes"], info["crmId"], info["Segment__c"]) == (
        "Øresund AB",
        "VIP",
        "CRM-9",
        "EMEA",
    )


def test_switch_sold_to_to_another_existing_contact(api: httpx.Client) -> None:
    created = new_account(api)
    other = api.post(
        "/v1/contacts",
        json={"accountId": created["accountId"], "firstName": "Łukasz", "lastName": "Nowak"},
    ).json()

    response = api.put(
        f"/v1/accounts/{created['accountId']}", json={"soldToContactId": other["id"]}
    )

    assert response.json() == {"success": True}
    detail = api.get(f"/v1/accounts/{created['accountId']}").json()
    assert detail["soldToContact"]["id"] == other["id"]
    assert detail["billToContact"]["id"] == created["billToContactId"]


def test_switch_bill_to_to_a_contact_of_another_account_is_refused(api: httpx.Client) -> None:
    first, second = new_account(api), new_account(api)

    response = api.put(
        f"/v1/accounts/{first['accountId']}", json={"billToContactId": second["billToContactId"]}
    )

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000020
    detail = api.get(f"/v1/accounts/{first['accountId']}").json()
    assert detail["billToContact"]["id"] == first["billToContactId"]


def test_nested_bill_to_contact_edits_the_current_contact(api: httpx.Client) -> None:
    created = new_account(api)

    api.put(
        f"/v1/accounts/{created['accountId']}",
        json={"billToContact": {"firstName": "Zoë", "lastName": "Schröder"}},
    )

    contact = api.get(f"/v1/contacts/{created['billToContactId']}").json()
    assert contact["lastName"] == "Schröder"


def test_unknown_field_is_category_21(api: httpx.Client) -> None:
    created = new_account(api)

    response = api.put(f"/v1/accounts/{created['accountId']}", json={"colour": "blue"})

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000021


def test_delete_account_is_pending_then_canceled_and_still_readable(
    api: httpx.Client,
) -> None:
    created = new_account(api)

    response = api.delete(f"/v1/accounts/{created['accountId']}")

    deleted = DeleteAccountResponse.from_dict(response.json())
    assert (deleted.success, deleted.id, deleted.job_status) == (
        True,
        created["accountId"],
        "Pending",
    )
    assert HEX32.fullmatch(deleted.job_id)
    wait_until(
        lambda: (
            api.get(f"/v1/accounts/{created['accountId']}").json()["basicInfo"]["status"]
            == "Canceled"
        ),
        30,
        "the account to be cancelled",
    )


def test_purged_account_is_gone_everywhere(zuora: EmulatorHandle, api: httpx.Client) -> None:
    created = new_account(api)

    purge = httpx.post(f"{zuora.base_url}/_emulator/accounts/{created['accountId']}/purge")

    assert purge.status_code == 200
    assert api.get(f"/v1/accounts/{created['accountId']}").status_code == 404
    assert api.get(f"/object-query/accounts/{created['accountId']}").status_code == 404
    assert api.get(f"/v1/contacts/{created['billToContactId']}").status_code == 404


def test_requests_are_counted_per_route_template(zuora: EmulatorHandle, api: httpx.Client) -> None:
    created = new_account(api)
    api.get(f"/v1/accounts/{created['accountId']}")
    api.get("/v1/accounts/A00000001")

    assert zuora.request_count("GET /v1/accounts/{account_key}") == 2
    assert zuora.request_count("POST /v1/accounts") == 1
    counts = httpx.get(f"{zuora.base_url}/_emulator/request-counts").json()["counts"]
    assert counts["GET /v1/accounts/{account_key}"] == 2
