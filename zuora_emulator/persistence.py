"""The state as data: a comparable export, and a JSON file to survive restarts."""

from __future__ import annotations

import bisect
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from zuora_emulator.records import Account, Contact
from zuora_emulator.render import account_oq, contact_oq
from zuora_emulator.state import EmulatorState

FORMAT_VERSION = 1


def export_state(state: EmulatorState) -> dict[str, Any]:
    """Every account and contact in Object Query shape, nulls included, sorted by id.

    Accounts carry ``billToId``/``soldToId``; tests compare a local copy against this.
    """
    with state.lock:
        accounts = [account_oq(state.accounts[i], state.clock) for i in sorted(state.accounts)]
        contacts = [contact_oq(state.contacts[i], state.clock) for i in sorted(state.contacts)]
    return {"accounts": accounts, "contacts": contacts}


def save_state(state: EmulatorState, path: str | Path) -> None:
    """Write the full state to ``path`` as JSON, atomically (temp file + rename)."""
    with state.lock:
        data = {
            "format": FORMAT_VERSION,
            "apiUserId": state.api_user_id,
            "nextAccountNumber": state.next_account_number,
            "rngState": _jsonable(state.rng.getstate()),
            "accounts": [dataclasses.asdict(a) for a in state.accounts.values()],
            "contacts": [dataclasses.asdict(c) for c in state.contacts.values()],
        }
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
    Path(tmp).replace(target)


def load_state(state: EmulatorState, path: str | Path) -> None:
    """Replace the state's objects with those saved in ``path``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported state file format {data.get('format')!r}")
    accounts = [Account(**a) for a in data["accounts"]]
    contacts = [Contact(**c) for c in data["contacts"]]
    with state.lock:
        state.api_user_id = data["apiUserId"]
        state.next_account_number = data["nextAccountNumber"]
        state.rng.setstate(_tupled(data["rngState"]))
        state.accounts.clear()
        state.contacts.clear()
        state.account_numbers.clear()
        state.contacts_by_account.clear()
        state.account_index.clear()
        state.contact_index.clear()
        bulk_insert(state, accounts, contacts)


def bulk_insert(state: EmulatorState, accounts: list[Account], contacts: list[Contact]) -> None:
    """Add many objects at once, sorting the indexes once (caller holds the lock)."""
    for account in accounts:
        state.accounts[account.id] = account
        state.account_numbers[account.account_number] = account.id
        state.contacts_by_account.setdefault(account.id, set())
    for contact in contacts:
        state.contacts[contact.id] = contact
        state.contacts_by_account.setdefault(contact.account_id, set()).add(contact.id)
    if len(accounts) < 64:
        for account in accounts:
            bisect.insort(state.account_index, (account.updated_date, account.id))
        for contact in contacts:
            bisect.insort(state.contact_index, (contact.updated_date, contact.id))
        return
    state.account_index.extend((a.updated_date, a.id) for a in accounts)
    state.account_index.sort()
    state.contact_index.extend((c.updated_date, c.id) for c in contacts)
    state.contact_index.sort()


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value
