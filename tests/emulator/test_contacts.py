"""REST v1 contacts: create, read, update, delete (refused for Bill-To/Sold-To), scrub."""

from __future__ import annotations

import httpx
from zuora_sdk.models import CommonResponse, ContactResponse

from tests.emulator.conftest import new_account
from zuora_emulator.testing import EmulatorHandle


def _create_contact(api: httpx.Client, **fields: object) -> httpx.Response:
    return api.post("/v1/contacts", json={"firstName": "Siobhán", "lastName": "O'Brien", **fields})


def test_create_contact_by_account_id_matches_the_sdk_model(api: httpx.Client) -> None:
    account = new_account(api)

    response = _create_contact(
        api, accountId=account["accountId"], workEmail="SIOBHAN@Example.ie", country="Ireland"
    )

    assert response.status_code == 200
    contact = ContactResponse.from_dict(response.json())
    assert contact.success is True
    assert contact.account_id == account["accountId"]
    assert contact.account_number == account["accountNumber"]
    assert contact.first_name == "Siobhán"
    assert contact.work_email == "SIOBHAN@Example.ie"


def test_create_contact_by_account_number(api: httpx.Client) -> None:
    account = new_account(api)

    response = _create_contact(api, accountNumber=account["accountNumber"])

    assert response.json()["accountId"] == account["accountId"]


def test_create_contact_needs_an_account(api: httpx.Client) -> None:
    response = _create_contact(api)

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000022


def test_create_contact_on_unknown_account_is_404(api: httpx.Client) -> None:
    response = _create_contact(api, accountId="f" * 32)

    assert response.status_code == 404


def test_too_long_email_is_category_20(api: httpx.Client) -> None:
    account = new_account(api)

    response = _create_contact(api, accountId=account["accountId"], workEmail="a" * 81)

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000020


def test_get_contact_has_v1_names_and_no_timestamps(api: httpx.Client) -> None:
    account = new_account(api)

    response = api.get(f"/v1/contacts/{account['billToContactId']}")

    body = response.json()
    ContactResponse.from_dict(body)
    assert body["firstName"] == "Zoë"
    assert "zipCode" in body
    assert "nickname" in body
    assert "updatedDate" not in body
    assert "createdDate" not in body


def test_update_contact_changes_only_the_given_fields(api: httpx.Client) -> None:
    account = new_account(api)
    contact_id = account["billToContactId"]

    response = api.put(f"/v1/contacts/{contact_id}", json={"workEmail": "NEW@Example.com"})

    assert response.status_code == 200
    contact = ContactResponse.from_dict(response.json())
    assert contact.work_email == "NEW@Example.com"
    assert contact.last_name == "Müller"


def test_update_contact_cannot_move_it_to_another_account(api: httpx.Client) -> None:
    first, second = new_account(api), new_account(api)

    response = api.put(
        f"/v1/contacts/{first['billToContactId']}", json={"accountId": second["accountId"]}
    )

    assert response.status_code == 400


def test_delete_contact(api: httpx.Client) -> None:
    account = new_account(api)
    extra = _create_contact(api, accountId=account["accountId"]).json()

    response = api.delete(f"/v1/contacts/{extra['id']}")

    assert CommonResponse.from_dict(response.json()).success is True
    assert api.get(f"/v1/contacts/{extra['id']}").status_code == 404


def test_deleting_the_bill_to_contact_is_refused_with_category_30(api: httpx.Client) -> None:
    account = new_account(api)

    response = api.delete(f"/v1/contacts/{account['billToContactId']}")

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000030
    assert api.get(f"/v1/contacts/{account['billToContactId']}").status_code == 200


def test_deleting_a_referenced_contact_when_allowed_empties_the_reference(
    zuora: EmulatorHandle, api: httpx.Client
) -> None:
    zuora.configure(refuse_referenced_contact_delete=False)
    account = new_account(api)

    response = api.delete(f"/v1/contacts/{account['soldToContactId']}")

    assert response.status_code == 200
    expanded = api.get(f"/object-query/accounts/{account['accountId']}").json()
    assert "soldToId" not in expanded
    assert expanded["billToId"] == account["billToContactId"]


def test_scrub_overwrites_personal_data(api: httpx.Client) -> None:
    account = new_account(api)
    contact_id = account["billToContactId"]

    response = api.put(f"/v1/contacts/{contact_id}/scrub")

    assert response.json() == {"success": True}
    contact = api.get(f"/v1/contacts/{contact_id}").json()
    assert contact["firstName"] == contact["lastName"] == "Record Scrubbed"
    assert contact["workEmail"] == ""  # null in the store; v1 shows unset strings as ""
    assert contact["country"] is None
    expanded = api.get(f"/object-query/contacts/{contact_id}?includeNullFields=true").json()
    assert expanded["workEmail"] is None


def test_unknown_contact_is_404(api: httpx.Client) -> None:
    for response in (
        api.get("/v1/contacts/" + "0" * 32),
        api.put("/v1/contacts/" + "0" * 32, json={"firstName": "X"}),
        api.delete("/v1/contacts/" + "0" * 32),
        api.put("/v1/contacts/" + "0" * 32 + "/scrub"),
    ):
        assert response.status_code == 404
        assert response.json()["reasons"][0]["code"] == 50000040
