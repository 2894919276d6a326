"""Realistic, reproducible tenants and random changes to them.

Names carry accents and non-Latin scripts, e-mail addresses mix upper and lower case and
addresses span several countries, so that a sync that normalises, compares or encodes
carelessly shows it. Everything is drawn from ``random.Random`` instances seeded by the
caller; timestamps are spread over the year before start-up.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Any

from zuora_emulator.fields import StateError
from zuora_emulator.persistence import bulk_insert
from zuora_emulator.records import Account, Contact
from zuora_emulator.state import EmulatorState

FIRST_NAMES = [
    "José",
    "Zoë",
    "Øyvind",
    "Łukasz",
    "François",
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eleni",
    "Fatima",
    "Günter",
    "Hana",
    "İlkay",
    "Jürgen",
    "Kateřina",
    "Leïla",
    "Mário",
    "Nguyễn",
    "Olga",
    "Pål",
    "Raúl",
    "Siobhán",
    "Tomás",
    "Ümit",
    "Yuki",
    "Zoltán",
    "Aiko",
    "Ingrid",
    "Mary",
    "John",
    "Priya",
    "Wei",
    "Ahmed",
    "Sofía",
    "Renée",
]
LAST_NAMES = [
    "García",
    "Müller",
    "Ødegaard",
    "Kowalczyk",
    "Lefèvre",
    "O'Brien",
    "Søndergaard",
    "Dvořák",
    "Y\u0131lmaz",
    "Nakamura",
    "Łęcka",
    "Åkesson",
    "Smith",
    "Fernández",
    "Öztürk",
    "Novák",
    "Schröder",
    "Petrović",
    "Johansson",
    "Silva",
    "Chen",
    "Patel",
    "Khan",
    "Dubois",
    "Rossi",
    "Jones",
    "Brontë",
    "Ng",
    "Van der Berg",
    "Gonçalves",
]
ADDRESSES = [
    ("United States", "California", "San Francisco", "94105", "Market Street"),
    ("Germany", "Bayern", "München", "80331", "Maximilianstraße"),
    ("France", "Île-de-France", "Paris", "75001", "Rue de Rivoli"),
    ("Japan", "Tokyo", "東京", "100-0001", "丸の内"),
    ("Brazil", "SP", "São Paulo", "01310-100", "Avenida Paulista"),
    ("Canada", "Québec", "Montréal", "H2X 1Y4", "Rue Sainte-Catherine"),
    ("United Kingdom", "England", "London", "SW1A 1AA", "Whitehall"),
    ("Sweden", "Västra Götaland", "Göteborg", "411 03", "Kungsgatan"),
    ("Poland", "Małopolskie", "Kraków", "30-001", "ulica Floriańska"),
    ("Spain", "Galicia", "A Coruña", "15001", "Rúa Real"),
    ("Norway", "Troms", "Tromsø", "9008", "Storgata"),
    ("Australia", "NSW", "Sydney", "2000", "George Street"),
    ("India", "Karnataka", "Bengaluru", "560001", "MG Road"),
    ("Mexico", "CDMX", "Ciudad de México", "06600", "Paseo de la Reforma"),
]
DOMAINS = ["example.com", "Example.ORG", "mail.example.net", "EXAMPLE.co.uk", "corp.example"]
COMPANY_WORDS = [
    "Nordlicht",
    "Café Olé",
    "Zürich",
    "Acme",
    "Globex",
    "Øresund",
    "Ñandú",
    "Initech",
    "Umbrella",
    "Hooli",
    "Sakura",
    "Żubr",
    "Łoś",
    "Vandelay",
]
COMPANY_SUFFIXES = ["GmbH", "S.A.", "Ltd", "Inc.", "AB", "K.K.", "S.p.A.", "sp. z o.o."]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "SEK", "BRL", "CAD"]

MUTATION_KINDS = {
    "contact_update": 30,
    "contact_email_change": 15,
    "bill_to_switch": 8,
    "sold_to_switch": 10,
    "account_update": 10,
    "account_create": 8,
    "contact_create": 10,
    "contact_delete": 5,
    "account_delete": 4,
}


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum()) or "user"


def contact_fields(rng: random.Random) -> dict[str, Any]:
    """A plausible contact in v1 field names."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country, state, city, postal, street = rng.choice(ADDRESSES)
    local = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 999)}"
    if rng.random() < 0.5:
        local = local.capitalize() if rng.random() < 0.5 else local.upper()
    fields: dict[str, Any] = {
        "firstName": first,
        "lastName": last,
        "workEmail": f"{local}@{rng.choice(DOMAINS)}",
        "address1": f"{street} {rng.randint(1, 400)}",
        "city": city,
        "state": state,
        "country": country,
        "zipCode": postal,
        "workPhone": f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
    }
    if rng.random() < 0.3:
        fields["personalEmail"] = f"{_ascii(first).lower()}{rng.randint(1, 99)}@mail.example.net"
    if rng.random() < 0.2:
        fields["nickname"] = first[:3]
    return fields


def company_name(rng: random.Random) -> str:
    """A company name such as 'Øresund Zürich GmbH'."""
    return f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"


def seed_accounts(state: EmulatorState, count: int, seed: int) -> list[str]:
    """Add ``count`` accounts (each with Bill-To, Sold-To and sometimes more contacts).

    Objects are inserted in bulk, without events, so seeding 50,000 accounts takes
    seconds; returns the new account ids.
    """
    rng = random.Random(f"seed-accounts-{seed}")
    now = state.clock.now()
    accounts: list[Account] = []
    contacts: list[Contact] = []
    with state.lock:
        user = state.api_user_id
        for _ in range(count):
            created = now - rng.randint(3600, 365 * 86400)
            updated = rng.randint(created, now - 60)
            number = f"A{state.next_account_number:08d}"
            state.next_account_number += 1
            account = Account(
                id=state.new_id(),
                account_number=number,
                name=company_name(rng),
                currency=rng.choice(CURRENCIES),
                status="Active",
                created_date=created,
                updated_date=updated,
                created_by_id=user,
                updated_by_id=user,
                bill_cycle_day=rng.randint(1, 28),
                crm_id=f"CRM-{rng.randint(10000, 99999)}",
            )
            people = 1 if rng.random() < 0.4 else rng.choice([2, 2, 3])
            own: list[Contact] = []
            for _ in range(people):
                contact = Contact(
                    id=state.new_id(),
                    account_id=account.id,
                    first_name="",
                    last_name="",
                    created_date=created,
                    updated_date=rng.randint(created, now - 60),
                    created_by_id=user,
                    updated_by_id=user,
                )
                for name, value in contact_fields(rng).items():
                    attr = {
                        "firstName": "first_name",
                        "lastName": "last_name",
                        "workEmail": "work_email",
                        "personalEmail": "personal_email",
                        "zipCode": "postal_code",
                        "workPhone": "work_phone",
                    }.get(name, name)
                    setattr(contact, attr, value)
                own.append(contact)
            account.bill_to_id = own[0].id
            account.sold_to_id = own[-1].id if rng.random() < 0.7 else own[0].id
            accounts.append(account)
            contacts.extend(own)
        bulk_insert(state, accounts, contacts)
    return [a.id for a in accounts]


class Mutator:
    """Applies random changes of every kind through the state's normal mutations."""

    def __init__(self, state: EmulatorState, seed: int) -> None:
        self.state = state
        self.rng = random.Random(f"mutations-{seed}")

    def reseed(self, seed: int) -> None:
        """Restart the sequence of random changes."""
        self.rng = random.Random(f"mutations-{seed}")

    def apply(self, count: int, kinds: list[str] | None = None) -> list[dict[str, Any]]:
        """Make ``count`` changes; each result names the kind, the ids and new updatedDate."""
        allowed = {k: w for k, w in MUTATION_KINDS.items() if not kinds or k in kinds}
        if not allowed:
            raise ValueError(f"kinds must be among {', '.join(MUTATION_KINDS)}")
        names, weights = list(allowed), list(allowed.values())
        results = []
        for _ in range(count):
            for _try in range(10):
                kind = self.rng.choices(names, weights)[0]
                result = self._apply_one(kind)
                if result is not None:
                    results.append(result)
                    break
        return results

    def _active_account(self) -> Account | None:
        # Dicts keep insertion order, which is reproducible for a seed; sorting 50,000 ids
        # on every change would not be needed for that.
        with self.state.lock:
            ids = list(self.state.accounts)
            for _ in range(20):
                if not ids:
                    return None
                account = self.state.accounts[self.rng.choice(ids)]
                if account.status == "Active":
                    return account
        return None

    def _render(self, epoch: int | None) -> str | None:
        return self.state.clock.render(epoch)

    def _apply_one(self, kind: str) -> dict[str, Any] | None:
        state, rng = self.state, self.rng
        if kind == "account_create":
            account = state.create_account(
                name=company_name(rng),
                currency=rng.choice(CURRENCIES),
                bill_to=contact_fields(rng),
                sold_to=contact_fields(rng) if rng.random() < 0.6 else None,
            )
            return {
                "kind": kind,
                "accountId": account.id,
                "accountNumber": account.account_number,
                "contactIds": [account.bill_to_id, account.sold_to_id],
                "updatedDate": self._render(account.updated_date),
            }
        account = self._active_account()
        if account is None:
            return None
        contacts = state.contacts_of(account.id)
        base = {"kind": kind, "accountId": account.id, "accountNumber": account.account_number}
        try:
            return self._change_account(kind, account, contacts, base)
        except StateError:
            return None

    def _change_account(
        self, kind: str, account: Account, contacts: list[Contact], base: dict[str, Any]
    ) -> dict[str, Any] | None:
        state, rng = self.state, self.rng
        if kind in ("contact_update", "contact_email_change"):
            contact = rng.choice(contacts)
            if kind == "contact_email_change":
                changes = {"workEmail": contact_fields(rng)["workEmail"]}
            else:
                fresh = contact_fields(rng)
                keys = rng.sample(["lastName", "address1", "city", "workPhone", "nickname"], 2)
                changes = {k: fresh.get(k, "") for k in keys}
            updated = state.update_contact(contact.id, changes)
            return {
                **base,
                "contactId": contact.id,
                "changes": changes,
                "updatedDate": self._render(updated.updated_date),
            }
        if kind in ("bill_to_switch", "sold_to_switch"):
            current = account.bill_to_id if kind == "bill_to_switch" else account.sold_to_id
            others = [c for c in contacts if c.id != current]
            new_contact = not others or rng.random() < 0.4
            if new_contact:
                target = state.create_contact(account_key=account.id, fields=contact_fields(rng))
            else:
                target = rng.choice(others)
            ref = "bill_to_contact_id" if kind == "bill_to_switch" else "sold_to_contact_id"
            updated_account = state.update_account(account.id, **{ref: target.id})
            return {
                **base,
                "contactId": target.id,
                "previousContactId": current,
                "newContact": new_contact,
                "updatedDate": self._render(updated_account.updated_date),
            }
        if kind == "account_update":
            changes = (
                {"name": company_name(rng)}
                if rng.random() < 0.5
                else {"notes": f"Note {rng.randint(1, 10**6)}"}
            )
            updated_account = state.update_account(account.id, fields=changes)
            return {
                **base,
                "changes": changes,
                "updatedDate": self._render(updated_account.updated_date),
            }
        if kind == "contact_create":
            contact = state.create_contact(account_key=account.id, fields=contact_fields(rng))
            return {
                **base,
                "contactId": contact.id,
                "updatedDate": self._render(contact.updated_date),
            }
        if kind == "contact_delete":
            spare = [c for c in contacts if c.id not in (account.bill_to_id, account.sold_to_id)]
            if not spare:
                return None
            contact = rng.choice(spare)
            state.delete_contact(contact.id)
            return {**base, "contactId": contact.id, "updatedDate": None}
        if kind == "account_delete":
            _, job_id = state.delete_account(account.id)
            state.complete_account_deletions(job_id)
            cancelled = state.get_account(account.id)
            return {
                **base,
                "status": cancelled.status,
                "updatedDate": self._render(cancelled.updated_date),
            }
        raise ValueError(f"Unknown change kind {kind}")
