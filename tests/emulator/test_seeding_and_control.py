"""Seeded data, random changes, the state dump, persistence and live settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.emulator.conftest import api_client
from zuora_emulator.seeding import MUTATION_KINDS
from zuora_emulator.testing import EmulatorHandle, running_emulator

HEX32 = re.compile(r"[0-9a-f]{32}")


def _without_times(dump: dict) -> dict:
    def strip(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if k not in ("createdDate", "updatedDate")}

    return {kind: [strip(o) for o in objs] for kind, objs in dump.items()}


def test_seeding_is_deterministic_for_a_seed() -> None:
    with (
        running_emulator(seed=9, accounts=25) as first,
        running_emulator(seed=9, accounts=25) as second,
    ):
        assert _without_times(first.dump()) == _without_times(second.dump())
    with running_emulator(seed=10, accounts=25) as other:
        assert _without_times(other.dump()) != _without_times(first.dump())


def test_seeded_data_is_realistic() -> None:
    with running_emulator(seed=3, accounts=60) as zuora:
        dump = zuora.dump()

    assert len(dump["accounts"]) == 60
    assert all(HEX32.fullmatch(a["id"]) for a in dump["accounts"])
    contacts = dump["contacts"]
    assert any(not c["firstName"].isascii() or not c["lastName"].isascii() for c in contacts)
    assert any(c["workEmail"] != c["workEmail"].lower() for c in contacts)
    assert len({c["country"] for c in contacts}) > 5
    ids = {c["id"] for c in contacts}
    assert all(a["billToId"] in ids and a["soldToId"] in ids for a in dump["accounts"])


def test_random_changes_report_what_changed(zuora: EmulatorHandle) -> None:
    httpx.post(f"{zuora.base_url}/_emulator/seed", json={"accounts": 30})

    response = httpx.post(f"{zuora.base_url}/_emulator/changes", json={"count": 60, "seed": 4})

    changes = response.json()["changes"]
    assert len(changes) == 60
    assert {c["kind"] for c in changes} >= {"contact_update", "sold_to_switch", "account_create"}
    assert set(c["kind"] for c in changes) <= set(MUTATION_KINDS)
    dump = zuora.dump()
    contacts = {c["id"]: c for c in dump["contacts"]}
    accounts = {a["id"]: a for a in dump["accounts"]}
    for change in changes:
        assert HEX32.fullmatch(change["accountId"])
        if change["kind"] == "sold_to_switch" and change is _last_for(changes, change):
            assert accounts[change["accountId"]]["soldToId"] == change["contactId"]
        if change["kind"] == "contact_delete":
            assert change["contactId"] not in contacts


def _last_for(changes: list[dict], change: dict) -> dict:
    same = [
        c
        for c in changes
        if c["accountId"] == change["accountId"]
        and c["kind"] in ("sold_to_switch", "contact_delete", "account_delete")
    ]
    return same[-1]


def test_changes_of_one_kind(zuora: EmulatorHandle) -> None:
    zuora.state.create_account(name="One", bill_to={"firstName": "A", "lastName": "B"})

    changes = zuora.apply_random_changes(3, kinds=["contact_email_change"])

    assert [c["kind"] for c in changes] == ["contact_email_change"] * 3
    contact = zuora.state.get_contact(changes[-1]["contactId"])
    assert contact.work_email == changes[-1]["changes"]["workEmail"]
    assert zuora.state.clock.render(contact.updated_date) == changes[-1]["updatedDate"]


def test_state_dump_endpoint(zuora: EmulatorHandle) -> None:
    account = zuora.state.create_account(name="Dump", bill_to={"firstName": "A", "lastName": "B"})

    dump = httpx.get(f"{zuora.base_url}/_emulator/state").json()

    [entry] = dump["accounts"]
    assert (entry["id"], entry["billToId"], entry["soldToId"]) == (
        account.id,
        account.bill_to_id,
        account.sold_to_id,
    )
    assert {c["id"] for c in dump["contacts"]} == {account.bill_to_id, account.sold_to_id}


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "zuora.json"
    with running_emulator(seed=2, accounts=5, state_file=str(state_file)) as zuora:
        zuora.state.create_account(name="Persisted", bill_to={"firstName": "Ø", "lastName": "Å"})
        before = zuora.dump()
    assert json.loads(state_file.read_text())["format"] == 1

    with running_emulator(seed=99, state_file=str(state_file)) as again:
        assert again.dump() == before


def test_live_settings_endpoint(zuora: EmulatorHandle) -> None:
    patched = httpx.patch(
        f"{zuora.base_url}/_emulator/settings",
        json={"callout_attempts": 5, "bump_updated_date": False},
    )

    assert patched.json()["callout_attempts"] == 5
    assert zuora.settings()["bump_updated_date"] is False
    assert httpx.patch(f"{zuora.base_url}/_emulator/settings", json={"nope": 1}).status_code == 400


def test_clock_advance_moves_updated_dates(zuora: EmulatorHandle) -> None:
    account = zuora.state.create_account(name="T", bill_to={"firstName": "A", "lastName": "B"})

    httpx.post(f"{zuora.base_url}/_emulator/clock/advance", json={"seconds": 3600})
    updated = zuora.state.update_account(account.id, fields={"notes": "later"})

    assert updated.updated_date - account.updated_date >= 3600


def test_pending_deletions_can_be_completed_at_once() -> None:
    with running_emulator(account_delete_delay=3600) as zuora, api_client(zuora) as api:
        account = zuora.state.create_account(name="D", bill_to={"firstName": "A", "lastName": "B"})
        api.delete(f"/v1/accounts/{account.id}")
        assert zuora.state.get_account(account.id).status == "Active"

        done = httpx.post(f"{zuora.base_url}/_emulator/jobs/complete").json()

        assert done["cancelled"] == [account.id]
        assert zuora.state.get_account(account.id).status == "Canceled"


def test_health_reports_counts_and_credentials(zuora: EmulatorHandle) -> None:
    body = httpx.get(f"{zuora.base_url}/_emulator/health").json()

    assert body["status"] == "ok"
    assert body["clientId"] == zuora.client_id
