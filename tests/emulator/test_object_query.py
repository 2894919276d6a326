"""Object Query: filters, sort, cursor paging, fields, expand, nulls, updatedDate rules."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import httpx
import pytest
from zuora_sdk.models import (
    ExpandedAccount,
    ExpandedContact,
    QueryAccountsResponse,
    QueryContactsResponse,
)

from tests.emulator.conftest import api_client, new_account
from zuora_emulator.testing import EmulatorHandle, running_emulator


@pytest.fixture(scope="module")
def seeded() -> EmulatorHandle:
    """120 seeded accounts; tests here only read, so they share one emulator."""
    with running_emulator(seed=11, accounts=120) as handle:
        yield handle


@pytest.fixture
def reader(seeded: EmulatorHandle) -> httpx.Client:
    with api_client(seeded) as client:
        yield client


def _all_pages(client: httpx.Client, path: str, params: list[tuple[str, str]]) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(1000):
        page_params = list(params) + ([("cursor", cursor)] if cursor else [])
        response = client.get(path, params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["data"])
        cursor = body.get("nextPage")
        if not cursor:
            return items
    raise AssertionError("paging did not end")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_paging_over_many_pages_returns_every_account_once(
    seeded: EmulatorHandle, reader: httpx.Client
) -> None:
    items = _all_pages(reader, "/object-query/accounts", [("pageSize", "7")])

    ids = [a["id"] for a in items]
    assert len(ids) == len(set(ids)) == 120
    assert set(ids) == set(seeded.state.account_ids())
    keys = [(_instant(a["updatedDate"]), a["id"]) for a in items]
    assert keys == sorted(keys, reverse=True)  # default: updatedDate DESC, id DESC


def test_list_response_matches_the_sdk_models(reader: httpx.Client) -> None:
    response = reader.get(
        "/object-query/accounts",
        params=[("pageSize", "5"), ("expand[]", "billto"), ("expand[]", "soldto")],
    )

    parsed = QueryAccountsResponse.from_dict(response.json())
    assert len(parsed.data) == 5
    assert parsed.next_page
    first = parsed.data[0]
    assert first.bill_to.id == first.bill_to_id
    assert first.sold_to.id == first.sold_to_id
    assert first.bill_to.updated_date
    assert first.sold_to.updated_date


def test_last_page_has_no_next_page_and_empty_result_is_data_only(reader: httpx.Client) -> None:
    assert (
        "nextPage"
        not in reader.get(
            "/object-query/accounts?pageSize=99&filter[]=accountnumber.EQ:A00000001"
        ).json()
    )
    response = reader.get("/object-query/accounts", params={"filter[]": "id.EQ:" + "0" * 32})
    assert response.json() == {"data": []}


def test_contacts_page_matches_the_sdk_model(reader: httpx.Client) -> None:
    response = reader.get("/object-query/contacts", params={"pageSize": "20"})

    parsed = QueryContactsResponse.from_dict(response.json())
    assert len(parsed.data) == 20
    assert all(c.updated_date and c.account_id for c in parsed.data)


@pytest.mark.parametrize(
    ("op", "check"),
    [
        ("GT", lambda v, m: v > m),
        ("GE", lambda v, m: v >= m),
        ("LT", lambda v, m: v < m),
        ("LE", lambda v, m: v <= m),
        ("EQ", lambda v, m: v == m),
        ("NE", lambda v, m: v != m),
    ],
)
def test_updateddate_filters_compare_instants(
    seeded: EmulatorHandle, reader: httpx.Client, op: str, check: object
) -> None:
    everything = seeded.dump()["accounts"]
    mark = sorted(_instant(a["updatedDate"]) for a in everything)[60]
    # The same instant written in UTC with Z: the emulator must compare instants.
    mark_text = mark.astimezone(tz=None).astimezone(datetime.now().astimezone().tzinfo).isoformat()
    utc_text = (mark - mark.utcoffset()).replace(tzinfo=None).isoformat() + "Z"

    for text in (mark_text, utc_text):
        items = _all_pages(
            reader,
            "/object-query/accounts",
            [("pageSize", "50"), ("filter[]", f"updateddate.{op}:{text}")],
        )
        expected = {a["id"] for a in everything if check(_instant(a["updatedDate"]), mark)}
        assert {a["id"] for a in items} == expected


def test_filters_on_id_and_account_number_and_in(
    seeded: EmulatorHandle, reader: httpx.Client
) -> None:
    accounts = seeded.dump()["accounts"][:3]
    ids = [a["id"] for a in accounts]

    by_id = reader.get("/object-query/accounts", params={"filter[]": f"id.EQ:{ids[0]}"})
    by_in = reader.get(
        "/object-query/accounts", params={"filter[]": f"id.IN:[{','.join(ids)}]", "pageSize": "10"}
    )
    by_number = reader.get(
        "/object-query/accounts",
        params={"filter[]": f"accountnumber.EQ:{accounts[1]['accountNumber'].lower()}"},
    )
    not_first = _all_pages(
        reader, "/object-query/accounts", [("filter[]", f"id.NE:{ids[0]}"), ("pageSize", "99")]
    )

    assert [a["id"] for a in by_id.json()["data"]] == [ids[0]]
    assert {a["id"] for a in by_in.json()["data"]} == set(ids)
    assert [a["id"] for a in by_number.json()["data"]] == [ids[1]]  # EQ ignores case
    assert len(not_first) == 119


def test_several_filters_are_anded(seeded: EmulatorHandle, reader: httpx.Client) -> None:
    account = seeded.dump()["accounts"][5]

    response = reader.get(
        "/object-query/accounts",
        params=[
            ("filter[]", f"currency.EQ:{account['currency']}"),
            ("filter[]", f"accountnumber.EQ:{account['accountNumber']}"),
        ],
    )

    assert [a["id"] for a in response.json()["data"]] == [account["id"]]


def test_contacts_filter_by_account_id(seeded: EmulatorHandle, reader: httpx.Client) -> None:
    account = seeded.dump()["accounts"][0]
    expected = {c.id for c in seeded.state.contacts_of(account["id"])}

    response = reader.get(
        "/object-query/contacts", params={"filter[]": f"accountid.EQ:{account['id']}"}
    )

    assert {c["accountId"] for c in response.json()["data"]} == {account["id"]}
    assert {c["id"] for c in response.json()["data"]} == expected


def test_sort_ascending_by_updateddate_pages_in_order(reader: httpx.Client) -> None:
    items = _all_pages(
        reader, "/object-query/contacts", [("sort[]", "updatedDate.ASC"), ("pageSize", "33")]
    )

    keys = [(_instant(c["updatedDate"]), c["id"]) for c in items]
    assert keys == sorted(keys)
    assert len({c["id"] for c in items}) == len(items)


def test_sort_by_account_number_descending(reader: httpx.Client) -> None:
    items = _all_pages(
        reader, "/object-query/accounts", [("sort[]", "accountnumber.DESC"), ("pageSize", "40")]
    )

    numbers = [a["accountNumber"] for a in items]
    assert numbers == sorted(numbers, reverse=True)
    assert len(numbers) == 120


def test_cursor_is_base64_json_keyset(reader: httpx.Client) -> None:
    cursor = reader.get("/object-query/accounts?pageSize=2").json()["nextPage"]

    keyset = json.loads(base64.b64decode(cursor))
    assert keyset[0]["orderBy"] == {"field": "UpdatedDate", "order": "DESC"}
    assert keyset[1]["orderBy"] == {"field": "Id", "order": "DESC"}


def test_fields_selects_output_case_insensitively(reader: httpx.Client) -> None:
    response = reader.get(
        "/object-query/accounts",
        params=[
            ("fields[]", "id,AccountNumber"),
            ("fields[]", "updateddate"),
            ("expand[]", "billto"),
            ("billto.fields[]", "workemail,id"),
            ("pageSize", "3"),
        ],
    )

    for account in response.json()["data"]:
        assert set(account) == {"id", "accountNumber", "updatedDate", "billTo"}
        assert set(account["billTo"]) <= {"id", "workEmail"}
        assert "id" in account["billTo"]


def test_null_fields_are_left_out_unless_asked(reader: httpx.Client) -> None:
    default = reader.get("/object-query/accounts?pageSize=1").json()["data"][0]
    with_nulls = reader.get("/object-query/accounts?pageSize=1&includeNullFields=true").json()

    assert None not in default.values()
    assert "parentId" not in default
    assert with_nulls["data"][0]["parentId"] is None
    ExpandedAccount.from_dict(with_nulls["data"][0])


def test_single_account_by_id_or_number_with_expand(
    seeded: EmulatorHandle, reader: httpx.Client
) -> None:
    account = seeded.dump()["accounts"][7]

    by_id = reader.get(f"/object-query/accounts/{account['id']}?expand[]=billto&expand[]=soldto")
    by_number = reader.get(
        f"/object-query/accounts/{account['accountNumber']}?expand[]=billto&expand[]=soldto"
    )

    assert by_id.json() == by_number.json()
    parsed = ExpandedAccount.from_dict(by_id.json())
    assert parsed.id == account["id"]
    assert parsed.bill_to.id == account["billToId"]
    assert parsed.sold_to.id == account["soldToId"]
    assert parsed.bill_to.updated_date


def test_single_contact(seeded: EmulatorHandle, reader: httpx.Client) -> None:
    contact = seeded.dump()["contacts"][3]

    response = reader.get(f"/object-query/contacts/{contact['id']}")

    parsed = ExpandedContact.from_dict(response.json())
    assert parsed.id == contact["id"]
    assert parsed.updated_date == contact["updatedDate"]


@pytest.mark.parametrize("path", ["/object-query/accounts/", "/object-query/contacts/"])
def test_single_object_not_found_is_404_category_40(reader: httpx.Client, path: str) -> None:
    response = reader.get(path + "0" * 32)

    assert response.status_code == 404
    body = response.json()
    assert body["reasons"][0]["code"] == 50000040
    assert body["requestId"] == response.headers["Zuora-Request-Id"]
    assert "success" not in body


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": "0"},
        {"pageSize": "100"},
        {"pageSize": "ten"},
        {"filter[]": "nosuchfield.EQ:1"},
        {"filter[]": "id.LIKE:1"},
        {"filter[]": "updateddate.GT:yesterday"},
        {"sort[]": "updateddate.SIDEWAYS"},
        {"expand[]": "nosuchthing"},
        {"cursor": "not-a-cursor"},
        {"fields[]": "nosuchfield"},
    ],
)
def test_invalid_parameters_are_400_category_27(reader: httpx.Client, params: dict) -> None:
    response = reader.get("/object-query/accounts", params=params)

    assert response.status_code == 400
    assert response.json()["reasons"][0]["code"] == 50000027


def test_page_size_99_is_accepted(reader: httpx.Client) -> None:
    assert len(reader.get("/object-query/accounts?pageSize=99").json()["data"]) == 99


def test_changes_in_the_same_second_share_updated_date(zuora: EmulatorHandle) -> None:
    account = zuora.state.create_account(name="Tie", bill_to={"firstName": "A", "lastName": "B"})
    first = zuora.state.update_contact(account.bill_to_id, {"city": "Oslo"})
    second = zuora.state.update_contact(account.sold_to_id, {"city": "Bergen"})

    # Whole seconds: two quick edits land in the same second nearly always; when they
    # straddle a boundary the later one is exactly one second newer.
    assert second.updated_date - first.updated_date in (0, 1)


def test_contact_edit_bumps_only_the_contact(zuora: EmulatorHandle) -> None:
    account = zuora.state.create_account(name="Bump", bill_to={"firstName": "A", "lastName": "B"})
    zuora.state.clock.advance(10)

    contact = zuora.state.update_contact(account.bill_to_id, {"workEmail": "X@Example.com"})

    assert contact.updated_date >= account.updated_date + 10
    assert zuora.state.get_account(account.id).updated_date == account.updated_date


def test_bill_to_switch_bumps_the_account(zuora: EmulatorHandle) -> None:
    account = zuora.state.create_account(name="Sw", bill_to={"firstName": "A", "lastName": "B"})
    zuora.state.clock.advance(10)

    switched = zuora.state.update_account(account.id, bill_to_contact_id=account.sold_to_id)

    assert switched.updated_date >= account.updated_date + 10
    assert switched.bill_to_id == account.sold_to_id


def test_bump_can_be_suppressed(zuora: EmulatorHandle, api: httpx.Client) -> None:
    created = new_account(api)
    before = api.get(f"/object-query/accounts/{created['accountId']}").json()["updatedDate"]
    zuora.configure(bump_updated_date=False)
    zuora.state.clock.advance(30)

    api.put(f"/v1/accounts/{created['accountId']}", json={"name": "Silent change"})

    after = api.get(f"/object-query/accounts/{created['accountId']}").json()
    assert after["name"] == "Silent change"
    assert after["updatedDate"] == before


def test_timestamps_use_the_tenant_time_zone() -> None:
    with (
        running_emulator(tenant_timezone="Europe/Berlin", accounts=1) as zuora,
        api_client(zuora) as client,
    ):
        account = client.get("/object-query/accounts").json()["data"][0]
    offset = _instant(account["updatedDate"]).utcoffset()
    assert offset in (timedelta(hours=1), timedelta(hours=2))
    assert account["updatedDate"][-6:] in ("+01:00", "+02:00")
