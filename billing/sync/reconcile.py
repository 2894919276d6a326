"""Make local rows equal to what Zuora returned: the one code path that writes synced data.

Callout tasks, the backfill and the periodic reconciliation all call these.
They run inside the caller's transaction and make no Zuora calls.
"""

import functools
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.db.models.options import Options
from django.utils import timezone

from billing.models import BillingAccount, BillingAccountContact, SyncKind
from billing.signals import SoldToChange, sold_to_changed
from billing.sync import queue
from billing.sync.among import Among
from billing.sync.upsert import update_by_pk, upsert_many_by_zuora_id
from zuora import ZuoraAccount, ZuoraContact

logger = logging.getLogger(__name__)


@dataclass
class ReconcileResult:
    """What one reconciliation changed, for logs, metrics and reports."""

    accounts_written: int = 0
    accounts_stale: int = 0
    accounts_deleted: int = 0
    contacts_written: int = 0
    contacts_stale: int = 0
    contacts_deleted: int = 0
    follow_ups: list[tuple[SyncKind, str]] = field(default_factory=list)


def contact_fields(contact: ZuoraContact) -> dict[str, str]:
    """The contact's stored text fields, cut to the column lengths."""
    return {
        "first_name": contact.first_name[:100],
        "last_name": contact.last_name[:100],
        "nickname": contact.nickname[:100],
        "work_email": contact.work_email[:80],
        "personal_email": contact.personal_email[:80],
        "work_phone": contact.work_phone[:40],
        "mobile_phone": contact.mobile_phone[:40],
        "home_phone": contact.home_phone[:40],
        "fax": contact.fax[:40],
        "address1": contact.address1[:255],
        "address2": contact.address2[:255],
        "city": contact.city[:40],
        "county": contact.county[:32],
        "state": contact.state[:40],
        "postal_code": contact.postal_code[:20],
        "country": contact.country[:64],
        "tax_region": contact.tax_region[:32],
    }


def contact_values(
    contact: ZuoraContact, *, account_pk: int, synced_at: datetime
) -> dict[str, object]:
    return {
        "zuora_id": contact.id,
        "billing_account": account_pk,
        **contact_fields(contact),
        "zuora_updated_at": contact.updated_date,
        "last_synced_at": synced_at,
        "created_at": synced_at,
    }


def account_fields(account: ZuoraAccount) -> dict[str, str]:
    """The account's stored text fields, cut to the column lengths."""
    return {
        "account_number": account.account_number[:70],
        "name": account.name[:255],
        "status": account.status[:16],
        "currency": account.currency[:3],
        "batch": account.batch[:50],
    }


def sold_to_email(contact_pk: int | None) -> str:
    """The address a Sold-To contact signs in with: work email, else personal."""
    if contact_pk is None:
        return ""
    emails = (
        BillingAccountContact.objects.filter(pk=contact_pk)
        .values_list("work_email", "personal_email")
        .first()
    )
    return sign_in_address(*emails) if emails else ""


def sign_in_address(work_email: str | None, personal_email: str | None) -> str:
    return work_email or personal_email or ""


type SoldTo = tuple[int | None, str]  # (local contact pk, its sign-in address)


class SoldToChanges:
    """Sold-To (contact, address) of accounts before and after one reconciliation."""

    def __init__(self) -> None:
        self.before: dict[int, SoldTo] = {}
        self.after: dict[int, SoldTo] = {}

    def saw(self, account_pk: int, before: SoldTo, after: SoldTo) -> None:
        self.before.setdefault(account_pk, before)
        self.after[account_pk] = after

    def announce(self) -> None:
        """Tell listeners (Sold-To provisioning) about real changes, in this transaction.

        One signal for all the accounts, so that listeners handle a batch at a
        time. What they write commits with the reconciliation or not at all: a
        worker killed between the two would otherwise leave access that nothing
        repairs, since the data already equals Zuora's.
        """
        changes = tuple(
            SoldToChange(account_id=account_pk, previous_contact_id=before[0], contact_id=after[0])
            for account_pk, after in self.after.items()
            if (before := self.before[account_pk]) != after
        )
        if changes:
            sold_to_changed.send(sender=BillingAccount, changes=changes)


@dataclass(frozen=True)
class _Stored:
    """A local account as a reconciliation found it, with its Sold-To's sign-in address."""

    pk: int
    zuora_id: str
    account_number: str
    bill_to_pk: int | None
    sold_to_pk: int | None
    address: str


def _free_account_numbers(
    owner_of: dict[str, str], stored: Sequence[_Stored], result: ReconcileResult
) -> None:
    """Local accounts still holding these numbers (each with its owner's Zuora id)
    lost them in Zuora: re-sync those."""
    for row in stored:
        if row.account_number not in owner_of or owner_of[row.account_number] == row.zuora_id:
            continue
        # A placeholder unique to the holder keeps the constraint until its
        # own sync stores its real number (or deletes it).
        BillingAccount.objects.filter(pk=row.pk).update(account_number=f"~{row.zuora_id}")
        queue.request(kind=SyncKind.ACCOUNT, zuora_id=row.zuora_id)
        result.follow_ups.append((SyncKind.ACCOUNT, row.zuora_id))


def _stored_accounts(zuora_ids: Iterable[str], numbers: Iterable[str]) -> list[_Stored]:
    """The local accounts with these ids or account numbers, locked, in one statement.

    Locked in pk order as the upsert that follows would lock them (on
    PostgreSQL; SQLite has one writer at a time), they cannot change before
    it: their references and address are those the reconciliation replaces,
    and the holders of an incoming number are those to free.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _lookups(connection.vendor).stored_accounts,
            [_values_parameter(zuora_ids), _values_parameter(numbers)],
        )
        return [
            _Stored(pk, zuora_id, number, bill_to, sold_to, sign_in_address(work, personal))
            for pk, zuora_id, number, bill_to, sold_to, work, personal in cursor.fetchall()
        ]


def _sold_to_of(contact_ids: Sequence[str]) -> list[tuple[int, int, str, str]]:
    """(account pk, Sold-To pk, Sold-To id, address) of accounts whose Sold-To is one of these."""
    with connection.cursor() as cursor:
        cursor.execute(_lookups(connection.vendor).sold_to_of, [_values_parameter(contact_ids)])
        return [
            (account_pk, contact_pk, zuora_id, sign_in_address(work, personal))
            for account_pk, contact_pk, zuora_id, work, personal in cursor.fetchall()
        ]


@dataclass(frozen=True)
class _Lookups:
    stored_accounts: str
    sold_to_of: str
    local_account: str


@functools.cache
def _lookups(vendor: str) -> _Lookups:
    """The reconciliation's reads as SQL of constant text, built once per process.

    A list of values is one parameter (an array on PostgreSQL, JSON on
    SQLite), so that the text does not depend on its length: nothing is
    compiled again, and PostgreSQL can prepare it (with
    `DATABASE_PREPARED_STATEMENTS`). Built by
    the ORM at each sync (and the account's in two statements, one before
    and one after its upsert), they cost an account sync about a quarter of
    its instructions.
    """
    quote = connection.ops.quote_name
    accounts, contacts = BillingAccount._meta, BillingAccountContact._meta

    def column(opts: Options, name: str) -> str:
        return quote(opts.get_field(name).column)

    if vendor == "postgresql":
        among, lock, no_key_lock = "= ANY(%s::text[])", "FOR UPDATE OF a", "FOR NO KEY UPDATE"
    else:
        among, lock, no_key_lock = "IN (SELECT value FROM json_each(%s))", "", ""
    account_pk, contact_pk = quote(accounts.pk.column), quote(contacts.pk.column)
    sold_to = f"a.{column(accounts, 'sold_to_contact')}"
    emails = f"c.{column(contacts, 'work_email')}, c.{column(contacts, 'personal_email')}"
    # Identifiers come from the models and values are parameters.
    return _Lookups(
        stored_accounts=(
            f"SELECT a.{account_pk}, a.{column(accounts, 'zuora_id')}, "  # noqa: S608
            f"a.{column(accounts, 'account_number')}, a.{column(accounts, 'bill_to_contact')}, "
            f"{sold_to}, {emails} "
            f"FROM {quote(accounts.db_table)} a "
            f"LEFT JOIN {quote(contacts.db_table)} c ON c.{contact_pk} = {sold_to} "
            f"WHERE a.{column(accounts, 'zuora_id')} {among} "
            f"OR a.{column(accounts, 'account_number')} {among} "
            f"ORDER BY a.{account_pk} {lock}"
        ),
        sold_to_of=(
            f"SELECT a.{account_pk}, {sold_to}, c.{column(contacts, 'zuora_id')}, "  # noqa: S608
            f"{emails} FROM {quote(accounts.db_table)} a "
            f"JOIN {quote(contacts.db_table)} c ON c.{contact_pk} = {sold_to} "
            f"WHERE c.{column(contacts, 'zuora_id')} {among}"
        ),
        local_account=(
            f"SELECT {account_pk} FROM {quote(accounts.db_table)} "  # noqa: S608
            f"WHERE {column(accounts, 'zuora_id')} = %s {no_key_lock}"
        ),
    )


def _values_parameter(values: Iterable[str]) -> object:
    return list(values) if connection.vendor == "postgresql" else json.dumps(list(values))


def _newest(objects: Iterable[ZuoraAccount]) -> list[ZuoraAccount]:
    """One object per id: the newest by updatedDate (the later on a tie)."""
    kept: dict[str, ZuoraAccount] = {}
    for item in objects:
        current = kept.get(item.id)
        if (
            current is None
            or current.updated_date is None
            or item.updated_date is None
            or item.updated_date >= current.updated_date
        ):
            kept[item.id] = item
    return list(kept.values())


def reconcile_account(
    account: ZuoraAccount, *, synced_at: datetime | None = None
) -> ReconcileResult:
    """Upsert the account, its Bill-To and Sold-To contacts, and point the references at them."""
    return reconcile_accounts([account], synced_at=synced_at)


def reconcile_accounts(
    accounts: Sequence[ZuoraAccount], *, synced_at: datetime | None = None
) -> ReconcileResult:
    """Upsert accounts with their Bill-To and Sold-To contacts, in a few statements.

    Each account's references point at local contact rows, created from the
    expanded contacts when missing. Older data never overwrites newer.
    """
    synced_at = synced_at or timezone.now()
    accounts = _newest(accounts)
    result = ReconcileResult()
    if not accounts:
        return result
    sold_to = SoldToChanges()
    owner_of = {account.account_number[:70]: account.id for account in accounts}
    incoming = {account.id for account in accounts}
    stored = _stored_accounts(incoming, owner_of)
    _free_account_numbers(owner_of, stored, result)
    # The references and Sold-To address as they were (the upsert leaves the
    # references alone): a reference that does not change is not written again.
    previous = {
        row.zuora_id: ((row.bill_to_pk, row.sold_to_pk), row.address)
        for row in stored
        if row.zuora_id in incoming
    }
    upserted = upsert_many_by_zuora_id(
        BillingAccount,
        [
            {
                "zuora_id": account.id,
                **account_fields(account),
                "zuora_updated_at": account.updated_date,
                "last_synced_at": synced_at,
                "created_at": synced_at,
            }
            for account in accounts
        ],
    )
    expanded = {
        contact.id: (contact, upserted[account.id].pk)
        for account in accounts
        for contact in (account.bill_to, account.sold_to)
        if contact is not None
    }
    contact_pks = _upsert_contacts(
        list(expanded.values()), synced_at=synced_at, result=result, sold_to=sold_to
    )
    written = [account for account in accounts if upserted[account.id].written]
    result.accounts_stale += len(accounts) - len(written)
    result.accounts_written += len(written)
    referenced = {
        zuora_id
        for account in written
        for zuora_id in (account.bill_to_id, account.sold_to_id)
        if zuora_id is not None and zuora_id not in contact_pks
    }
    if referenced:  # usually none: both contacts came expanded
        contact_pks |= dict(
            BillingAccountContact.objects.filter(zuora_id__in=referenced).values_list(
                "zuora_id", "pk"
            )
        )
    for zuora_id in sorted(referenced - contact_pks.keys()):
        # Neither expanded nor known here: fetch it on its own.
        queue.request(kind=SyncKind.CONTACT, zuora_id=zuora_id)
        result.follow_ups.append((SyncKind.CONTACT, zuora_id))
    rows = []
    for account in written:
        pk = upserted[account.id].pk
        sold_to_pk = contact_pks.get(account.sold_to_id) if account.sold_to_id else None
        bill_to_pk = contact_pks.get(account.bill_to_id) if account.bill_to_id else None
        references, address_before = previous.get(account.id, ((None, None), ""))
        if references != (bill_to_pk, sold_to_pk):
            rows.append((pk, bill_to_pk, sold_to_pk))
        address = (
            _address(account.sold_to)
            if account.sold_to is not None and account.sold_to.id == account.sold_to_id
            else sold_to_email(sold_to_pk)
        )
        sold_to.saw(pk, (references[1], address_before), (sold_to_pk, address))
    update_by_pk(BillingAccount, ["bill_to_contact", "sold_to_contact"], rows)
    sold_to.announce()
    return result


def _address(contact: ZuoraContact) -> str:
    return sign_in_address(contact.work_email[:80], contact.personal_email[:80])


def _upsert_contacts(
    contacts: Sequence[tuple[ZuoraContact, int]],
    *,
    synced_at: datetime,
    result: ReconcileResult,
    sold_to: SoldToChanges,
) -> dict[str, int]:
    """Upsert contacts (each with its local account pk); returns their local pks by id."""
    if not contacts:
        return {}
    ids = [contact.id for contact, _ in contacts]
    # Accounts whose Sold-To is one of these: an address change concerns them.
    sold_to_of = _sold_to_of(ids)
    upserted = upsert_many_by_zuora_id(
        BillingAccountContact,
        [
            contact_values(contact, account_pk=account_pk, synced_at=synced_at)
            for contact, account_pk in contacts
        ],
    )
    written = {zuora_id for zuora_id, row in upserted.items() if row.written}
    result.contacts_written += len(written)
    result.contacts_stale += len(upserted) - len(written)
    by_id = {contact.id: contact for contact, _ in contacts}
    for account_pk, contact_pk, zuora_id, address in sold_to_of:
        if zuora_id in written:
            sold_to.saw(account_pk, (contact_pk, address), (contact_pk, _address(by_id[zuora_id])))
    return {zuora_id: row.pk for zuora_id, row in upserted.items()}


def reconcile_contact(
    contact: ZuoraContact,
    *,
    account_pk: int,
    synced_at: datetime | None = None,
    account_locked: bool = False,
) -> ReconcileResult:
    """Upsert one contact of a local billing account."""
    return reconcile_contacts(
        [(contact, account_pk)], synced_at=synced_at, accounts_locked=account_locked
    )


def reconcile_contacts(
    contacts: Sequence[tuple[ZuoraContact, int]],
    *,
    synced_at: datetime | None = None,
    accounts_locked: bool = False,
) -> ReconcileResult:
    """Upsert contacts, each with the local pk of its billing account, in a few statements.

    `accounts_locked`: the caller has locked those accounts in this
    transaction already (`lock_local_account`).
    """
    result = ReconcileResult()
    if not accounts_locked:
        lock_accounts({account_pk for _, account_pk in contacts})
    sold_to = SoldToChanges()
    _upsert_contacts(
        contacts, synced_at=synced_at or timezone.now(), result=result, sold_to=sold_to
    )
    sold_to.announce()
    return result


def lock_accounts(pks: Iterable[int]) -> None:
    """Lock accounts before writing their contacts, in pk order.

    An account's own sync locks its row first (`_stored_accounts`), then its Bill-To
    and Sold-To contacts. A contact's sync must take the same order: it would
    otherwise hold the contact's row while the commit's foreign-key check
    waits for the account's, and the two syncs of one account deadlock
    (PostgreSQL breaks that after a second, failing one of them). A no-key
    lock is enough: it does not block the foreign-key checks of this
    transaction, only writers of the account row. SQLite has one writer
    at a time anyway.
    """
    ordered = sorted(set(pks))
    if ordered and connection.features.has_select_for_update:
        list(
            BillingAccount.objects.select_for_update(no_key=True)
            .filter(Among("pk", ordered))
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def lock_local_account(zuora_id: str) -> int | None:
    """The local pk of a billing account, its row locked as `lock_accounts` does; None if absent.

    A contact's sync needs both, and one statement does both (a lookup, then
    a lock by pk, were two round trips, plus a third before the fetch).
    """
    with connection.cursor() as cursor:
        cursor.execute(_lookups(connection.vendor).local_account, [zuora_id])
        found = cursor.fetchone()
    return found[0] if found else None


def remove_account(zuora_id: str) -> ReconcileResult:
    """The account is gone from Zuora: remove it with its contacts and memberships."""
    _, by_model = BillingAccount.objects.filter(zuora_id=zuora_id).delete()
    return ReconcileResult(
        accounts_deleted=by_model.get(BillingAccount._meta.label, 0),
        contacts_deleted=by_model.get(BillingAccountContact._meta.label, 0),
    )


def contact_is_referenced(zuora_id: str) -> bool:
    """Whether a local account still uses this contact as Bill-To or Sold-To."""
    return BillingAccount.objects.filter(
        Q(bill_to_contact__zuora_id=zuora_id) | Q(sold_to_contact__zuora_id=zuora_id)
    ).exists()


def remove_contact(zuora_id: str) -> ReconcileResult:
    """The contact is gone from Zuora and no local account references it: remove it."""
    deleted, _ = BillingAccountContact.objects.filter(zuora_id=zuora_id).delete()
    return ReconcileResult(contacts_deleted=deleted)
