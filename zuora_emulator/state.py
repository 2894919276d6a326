"""The emulator's tenant: accounts and contacts, their mutations and change events.

Every mutation goes through :class:`EmulatorState`, whether it comes from the HTTP API,
the control endpoints, the seeder or a test holding the state object directly, so callouts
fire the same way for all of them. The state is guarded by one lock and is safe to use
from several threads.
"""

from __future__ import annotations

import bisect
import dataclasses
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zuora_emulator.clock import Clock
from zuora_emulator.fields import (
    INVALID_VALUE,
    MISSING_FIELD,
    NOT_FOUND,
    RULE_RESTRICTION,
    StateError,
    apply_account_fields,
    apply_contact_fields,
    attr_of,
)
from zuora_emulator.records import CONTACT_INPUT_NAMES, Account, Contact

# Event type names a notification definition can subscribe to.
ACCOUNT_CREATED = "AccountCreated"
ACCOUNT_UPDATED = "AccountUpdated"
ACCOUNT_CONTACTS_CHANGED = "AccountBillToSoldToChanged"
CONTACT_CREATED = "ContactCreated"
CONTACT_UPDATED = "ContactUpdated"
CONTACT_DELETED = "ContactDeleted"
EVENT_TYPES = (
    ACCOUNT_CREATED,
    ACCOUNT_UPDATED,
    ACCOUNT_CONTACTS_CHANGED,
    CONTACT_CREATED,
    CONTACT_UPDATED,
    CONTACT_DELETED,
)


@dataclass(frozen=True)
class ChangeEvent:
    """Something changed in the tenant; callout definitions match on ``event_type``."""

    event_type: str
    account_id: str
    account_number: str
    contact_id: str | None
    timestamp: int
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class StateSettings:
    """Behaviour switches for the places where Zuora's documentation is silent."""

    bump_updated_date: bool = True
    refuse_referenced_contact_delete: bool = True
    account_delete_delay: float = 1.0


def _hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


class EmulatorState:
    """All accounts and contacts of one emulated tenant."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        settings: StateSettings | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.settings = settings or StateSettings()
        self.rng = random.Random(seed)
        self.api_user_id = _hex_id(self.rng)
        self.accounts: dict[str, Account] = {}
        self.contacts: dict[str, Contact] = {}
        self.account_numbers: dict[str, str] = {}
        self.contacts_by_account: dict[str, set[str]] = {}
        # Keys (updated_date, id), ascending: Object Query pages walk these without sorting.
        self.account_index: list[tuple[int, str]] = []
        self.contact_index: list[tuple[int, str]] = []
        self.next_account_number = 1
        self.pending_deletions: dict[str, str] = {}
        self._listeners: list[Callable[[ChangeEvent], None]] = []
        self._timers: list[threading.Timer] = []

    # -- plumbing --------------------------------------------------------------

    def subscribe(self, listener: Callable[[ChangeEvent], None]) -> None:
        """Call ``listener`` after every committed change (outside the state lock)."""
        self._listeners.append(listener)

    def _emit(self, events: Iterable[ChangeEvent]) -> None:
        for event in events:
            for listener in list(self._listeners):
                listener(event)

    def new_id(self) -> str:
        """A fresh 32-hex Zuora id, reproducible for a given seed and call order."""
        with self.lock:
            return _hex_id(self.rng)

    def _touch(self, obj: Account | Contact, index: list[tuple[int, str]], now: int) -> None:
        old = (obj.updated_date, obj.id)
        pos = bisect.bisect_left(index, old)
        if pos < len(index) and index[pos] == old:
            del index[pos]
        obj.updated_date = now
        obj.updated_by_id = self.api_user_id
        bisect.insort(index, (now, obj.id))

    def _unindex(self, obj: Account | Contact, index: list[tuple[int, str]]) -> None:
        key = (obj.updated_date, obj.id)
        pos = bisect.bisect_left(index, key)
        if pos < len(index) and index[pos] == key:
            del index[pos]

    def _event(
        self, event_type: str, account: Account, contact: Contact | None, now: int, **context: Any
    ) -> ChangeEvent:
        ctx = {
            "Account.Id": account.id,
            "Account.AccountNumber": account.account_number,
            "Account.Name": account.name,
            "Account.Status": account.status,
            "Account.BillToId": account.bill_to_id,
            "Account.SoldToId": account.sold_to_id,
            "Event.Type": event_type,
            "Event.Timestamp": self.clock.render(now),
        }
        if contact is not None:
            ctx.update(
                {
                    "Contact.Id": contact.id,
                    "Contact.AccountId": contact.account_id,
                    "Contact.WorkEmail": contact.work_email,
                    "Contact.FirstName": contact.first_name,
                    "Contact.LastName": contact.last_name,
                }
            )
        ctx.update(context)
        return ChangeEvent(
            event_type,
            account.id,
            account.account_number,
            contact.id if contact else None,
            now,
            ctx,
        )

    # -- lookups ---------------------------------------------------------------

    def _account(self, key: str) -> Account:
        account = self.accounts.get(key)
        if account is None:
            account_id = self.account_numbers.get(key)
            account = self.accounts.get(account_id) if account_id else None
        if account is None:
            raise StateError(NOT_FOUND, f"Cannot find a Account instance with key {key}.")
        return account

    def _contact(self, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise StateError(NOT_FOUND, f"Cannot find a Contact instance with id {contact_id}.")
        return contact

    def get_account(self, key: str) -> Account:
        """A copy of the account with this id or account number; StateError 40 if none."""
        with self.lock:
            return dataclasses.replace(self._account(key))

    def get_contact(self, contact_id: str) -> Contact:
        """A copy of the contact with this id; StateError 40 if none."""
        with self.lock:
            return dataclasses.replace(self._contact(contact_id))

    def contacts_of(self, account_key: str) -> list[Contact]:
        """Copies of every contact of an account, ordered by id."""
        with self.lock:
            account = self._account(account_key)
            ids = sorted(self.contacts_by_account.get(account.id, ()))
            return [dataclasses.replace(self.contacts[i]) for i in ids]

    def account_ids(self) -> list[str]:
        """Ids of all accounts, in creation-independent (id) order."""
        with self.lock:
            return sorted(self.accounts)

    # -- contacts --------------------------------------------------------------

    def _new_contact(self, account: Account, values: Mapping[str, Any], now: int) -> Contact:
        missing = [
            n
            for n in ("firstName", "lastName")
            if not any(
                CONTACT_INPUT_NAMES.get(k.lower()) == attr_of(n) and v for k, v in values.items()
            )
        ]
        if missing:
            raise StateError(MISSING_FIELD, f"Field '{missing[0]}' is required.")
        if len(self.contacts_by_account.get(account.id, ())) >= 2000:
            raise StateError(RULE_RESTRICTION, "An account can have at most 2000 contacts.")
        contact = Contact(
            id=_hex_id(self.rng),
            account_id=account.id,
            first_name="",
            last_name="",
            created_date=now,
            updated_date=now,
            created_by_id=self.api_user_id,
            updated_by_id=self.api_user_id,
        )
        apply_contact_fields(contact, values)
        self.contacts[contact.id] = contact
        self.contacts_by_account.setdefault(account.id, set()).add(contact.id)
        bisect.insort(self.contact_index, (now, contact.id))
        return contact

    def create_contact(self, *, account_key: str, fields: Mapping[str, Any]) -> Contact:
        """Create a contact on an account; ``fields`` use v1 or Object Query names."""
        with self.lock:
            account = self._account(account_key)
            now = self.clock.now()
            contact = self._new_contact(account, fields, now)
            events = [self._event(CONTACT_CREATED, account, contact, now)]
            result = dataclasses.replace(contact)
        self._emit(events)
        return result

    def update_contact(
        self, contact_id: str, fields: Mapping[str, Any], *, bump: bool | None = None
    ) -> Contact:
        """Change some fields of a contact; bumps only the contact's ``updatedDate``.

        ``bump=False`` (or ``settings.bump_updated_date`` off) keeps ``updatedDate``.
        """
        with self.lock:
            current = self._contact(contact_id)
            # Validate on a copy so that a refused update leaves the contact untouched.
            contact = dataclasses.replace(current, custom_fields=dict(current.custom_fields))
            apply_contact_fields(contact, fields)
            self.contacts[contact_id] = contact
            now = self.clock.now()
            if self._should_bump(bump):
                self._touch(contact, self.contact_index, now)
            account = self.accounts[contact.account_id]
            events = [self._event(CONTACT_UPDATED, account, contact, now)]
            result = dataclasses.replace(contact)
        self._emit(events)
        return result

    def scrub_contact(self, contact_id: str) -> Contact:
        """Overwrite personal data as Zuora's scrub does [SCRUBF]."""
        scrubbed = "Record Scrubbed"
        values: dict[str, Any] = {
            name: scrubbed
            for name in (
                "firstName",
                "lastName",
                "nickname",
                "address1",
                "address2",
                "city",
                "county",
                "state",
                "zipCode",
                "taxRegion",
                "workPhone",
                "homePhone",
                "mobilePhone",
                "otherPhone",
                "fax",
                "contactDescription",
            )
        }
        values.update(
            {"country": None, "workEmail": None, "personalEmail": None, "otherPhoneType": "3"}
        )
        return self.update_contact(contact_id, values)

    def delete_contact(self, contact_id: str) -> None:
        """Delete a contact; refused (category 30) while it is the Bill-To or Sold-To.

        With ``settings.refuse_referenced_contact_delete`` off, the deletion goes through
        and the account's reference becomes empty (an account change, with its events).
        """
        with self.lock:
            contact = self._contact(contact_id)
            account = self.accounts[contact.account_id]
            roles = [
                r
                for r, ref in (("Bill-To", account.bill_to_id), ("Sold-To", account.sold_to_id))
                if ref == contact_id
            ]
            if roles and self.settings.refuse_referenced_contact_delete:
                raise StateError(
                    RULE_RESTRICTION,
                    f"The contact is the {' and '.join(roles)} contact of account "
                    f"{account.account_number} and cannot be deleted.",
                )
            now = self.clock.now()
            events = [self._event(CONTACT_DELETED, account, contact, now)]
            self._unindex(contact, self.contact_index)
            del self.contacts[contact_id]
            self.contacts_by_account[account.id].discard(contact_id)
            if roles:
                old = (account.bill_to_id, account.sold_to_id)
                if account.bill_to_id == contact_id:
                    account.bill_to_id = None
                if account.sold_to_id == contact_id:
                    account.sold_to_id = None
                events += self._account_changed(account, now, None, old)
        self._emit(events)

    # -- accounts --------------------------------------------------------------

    def _should_bump(self, bump: bool | None) -> bool:
        return self.settings.bump_updated_date if bump is None else bump

    def create_account(
        self,
        *,
        name: str,
        bill_to: Mapping[str, Any],
        currency: str = "USD",
        sold_to: Mapping[str, Any] | None = None,
        sold_to_same_as_bill_to: bool = False,
        account_number: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> Account:
        """Create an active account with its Bill-To and Sold-To contacts, atomically.

        Without ``sold_to`` the Sold-To is a separate copy of the Bill-To (the documented
        sample shows two ids); ``sold_to_same_as_bill_to`` makes them one contact.
        """
        if not isinstance(currency, str) or len(currency) != 3:
            raise StateError(INVALID_VALUE, "Field 'currency' must be a 3-letter code.")
        with self.lock:
            if account_number is None:
                while f"A{self.next_account_number:08d}" in self.account_numbers:
                    self.next_account_number += 1
                account_number = f"A{self.next_account_number:08d}"
                self.next_account_number += 1
            elif account_number in self.account_numbers or len(account_number) > 70:
                raise StateError(
                    RULE_RESTRICTION, f"The account number {account_number} is invalid or in use."
                )
            now = self.clock.now()
            account = Account(
                id=_hex_id(self.rng),
                account_number=account_number,
                name=name,
                currency=currency.upper(),
                status="Active",
                created_date=now,
                updated_date=now,
                created_by_id=self.api_user_id,
                updated_by_id=self.api_user_id,
            )
            apply_account_fields(account, {"name": name, **(fields or {})})
            self.accounts[account.id] = account
            self.account_numbers[account_number] = account.id
            try:
                bill = self._new_contact(account, bill_to, now)
                if sold_to is not None:
                    sold = self._new_contact(account, sold_to, now)
                elif sold_to_same_as_bill_to:
                    sold = bill
                else:
                    sold = self._new_contact(account, bill_to, now)
            except StateError:
                self._forget_account(account)
                raise
            account.bill_to_id, account.sold_to_id = bill.id, sold.id
            bisect.insort(self.account_index, (now, account.id))
            events = [self._event(ACCOUNT_CREATED, account, None, now)]
            events += [
                self._event(CONTACT_CREATED, account, c, now)
                for c in ({bill.id: bill, sold.id: sold}).values()
            ]
            result = dataclasses.replace(account)
        self._emit(events)
        return result

    def _forget_account(self, account: Account) -> None:
        for contact_id in self.contacts_by_account.pop(account.id, set()):
            contact = self.contacts.pop(contact_id)
            self._unindex(contact, self.contact_index)
        self._unindex(account, self.account_index)
        self.accounts.pop(account.id, None)
        self.account_numbers.pop(account.account_number, None)

    def _account_changed(
        self, account: Account, now: int, bump: bool | None, old_refs: tuple[str | None, str | None]
    ) -> list[ChangeEvent]:
        if self._should_bump(bump):
            self._touch(account, self.account_index, now)
        events = [self._event(ACCOUNT_UPDATED, account, None, now)]
        if old_refs != (account.bill_to_id, account.sold_to_id):
            events.append(
                self._event(
                    ACCOUNT_CONTACTS_CHANGED,
                    account,
                    None,
                    now,
                    **{"Account.BillToId_old": old_refs[0], "Account.SoldToId_old": old_refs[1]},
                )
            )
        return events

    def update_account(
        self,
        key: str,
        *,
        fields: Mapping[str, Any] | None = None,
        bill_to_contact_id: str | None = None,
        sold_to_contact_id: str | None = None,
        bill_to: Mapping[str, Any] | None = None,
        sold_to: Mapping[str, Any] | None = None,
        bump: bool | None = None,
    ) -> Account:
        """Update an account: its own fields, a Bill-To/Sold-To switch, or contact edits.

        A switch (``*_contact_id``) must name a contact of the same account and bumps the
        account. ``bill_to``/``sold_to`` edit the contact currently referenced (after any
        switch in the same call) and bump only that contact.
        """
        with self.lock:
            account = self._account(key)
            for ref in (bill_to_contact_id, sold_to_contact_id):
                if ref is not None and (
                    ref not in self.contacts or self.contacts[ref].account_id != account.id
                ):
                    raise StateError(
                        INVALID_VALUE, f"Contact {ref} does not belong to account {key}."
                    )
            # Validate on a copy so that a refused update leaves the account untouched.
            account = dataclasses.replace(
                account,
                custom_fields=dict(account.custom_fields),
                additional_email_addresses=list(account.additional_email_addresses),
            )
            apply_account_fields(account, fields or {})
            self.accounts[account.id] = account
            old_refs = (account.bill_to_id, account.sold_to_id)
            account.bill_to_id = bill_to_contact_id or account.bill_to_id
            account.sold_to_id = sold_to_contact_id or account.sold_to_id
            changed = bool(fields) or old_refs != (account.bill_to_id, account.sold_to_id)
            now = self.clock.now()
            events = self._account_changed(account, now, bump, old_refs) if changed else []
            result = dataclasses.replace(account)
        self._emit(events)
        for ref, values in ((result.bill_to_id, bill_to), (result.sold_to_id, sold_to)):
            if values and ref:
                self.update_contact(ref, values, bump=bump)
        return result

    def delete_account(self, key: str) -> tuple[str, str]:
        """Start Zuora's asynchronous delete; returns ``(account_id, job_id)``.

        After ``settings.account_delete_delay`` seconds the account turns ``Canceled`` and
        stays readable, as Zuora keeps deleted data retrievable [POL].
        """
        with self.lock:
            account = self._account(key)
            job_id = _hex_id(self.rng)
            self.pending_deletions[job_id] = account.id
            delay = self.settings.account_delete_delay
        timer = threading.Timer(delay, self.complete_account_deletions, kwargs={"job_id": job_id})
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        return account.id, job_id

    def complete_account_deletions(self, job_id: str | None = None) -> list[str]:
        """Finish pending delete jobs now (all, or one); returns the cancelled account ids."""
        events: list[ChangeEvent] = []
        done: list[str] = []
        with self.lock:
            jobs = [job_id] if job_id else list(self.pending_deletions)
            for job in jobs:
                account_id = self.pending_deletions.pop(job, None)
                account = self.accounts.get(account_id) if account_id else None
                if account is None or account.status == "Canceled":
                    continue
                account.status = "Canceled"
                now = self.clock.now()
                events += self._account_changed(
                    account, now, None, (account.bill_to_id, account.sold_to_id)
                )
                done.append(account.id)
        self._emit(events)
        return done

    def purge_account(self, key: str) -> None:
        """Remove an account and its contacts entirely, as a sandbox refresh does.

        No callouts: Zuora sends none when a tenant is refreshed.
        """
        with self.lock:
            self._forget_account(self._account(key))

    def cancel_timers(self) -> None:
        """Stop pending delete timers (used when the emulator shuts down)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
