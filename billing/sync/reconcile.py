"""Make local rows equal to what Zuora returned: the one code path that writes synced data.

Callout tasks, the backfill and the periodic reconciliation all call these.
They run inside the caller's transaction and make no Zuora calls.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import BillingAccount, BillingAccountContact, SyncKind
from billing.signals import sold_to_changed
from billing.sync import queue
from billing.sync.upsert import upsert_by_zuora_id
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
    return (emails[0] or emails[1]) if emails else ""


def _announce_sold_to_change(
    account_pk: int, before: tuple[int | None, str], after: tuple[int | None, str]
) -> None:
    if before == after:
        return
    transaction.on_commit(
        lambda: sold_to_changed.send(
            sender=BillingAccount,
            account_id=account_pk,
            previous_contact_id=before[0],
            contact_id=after[0],
        ),
        robust=True,
    )


def _free_account_number(account: ZuoraAccount, result: ReconcileResult) -> None:
    """Another local account still holds this number: Zuora moved it, so re-sync that one."""
    holders = BillingAccount.objects.filter(account_number=account.account_number).exclude(
        zuora_id=account.id
    )
    for holder_pk, holder_zuora_id in holders.values_list("pk", "zuora_id"):
        # A placeholder unique to the holder keeps the constraint until its
        # own sync stores its real number (or deletes it).
        BillingAccount.objects.filter(pk=holder_pk).update(account_number=f"~{holder_zuora_id}")
        queue.request(kind=SyncKind.ACCOUNT, zuora_id=holder_zuora_id)
        result.follow_ups.append((SyncKind.ACCOUNT, holder_zuora_id))


def reconcile_account(
    account: ZuoraAccount, *, synced_at: datetime | None = None
) -> ReconcileResult:
    """Upsert the account, its Bill-To and Sold-To contacts, and point the references at them."""
    synced_at = synced_at or timezone.now()
    result = ReconcileResult()
    _free_account_number(account, result)
    upserted = upsert_by_zuora_id(
        BillingAccount,
        {
            "zuora_id": account.id,
            **account_fields(account),
            "zuora_updated_at": account.updated_date,
            "last_synced_at": synced_at,
            "created_at": synced_at,
        },
    )
    contact_pks: dict[str, int] = {}
    for contact in (account.bill_to, account.sold_to):
        if contact is not None and contact.id not in contact_pks:
            contact_pks[contact.id] = _upsert_contact(
                contact, account_pk=upserted.pk, synced_at=synced_at, result=result
            )
    if not upserted.written:
        result.accounts_stale += 1
        return result
    result.accounts_written += 1

    def local_contact(zuora_id: str | None) -> int | None:
        if zuora_id is None:
            return None
        if zuora_id in contact_pks:
            return contact_pks[zuora_id]
        pk = (
            BillingAccountContact.objects.filter(zuora_id=zuora_id)
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            # Not expanded and not known here: fetch it on its own.
            queue.request(kind=SyncKind.CONTACT, zuora_id=zuora_id)
            result.follow_ups.append((SyncKind.CONTACT, zuora_id))
        return pk

    local = BillingAccount.objects.filter(pk=upserted.pk)
    previous_sold_to = local.values_list("sold_to_contact_id", flat=True).get()
    before = (previous_sold_to, sold_to_email(previous_sold_to))
    sold_to_pk = local_contact(account.sold_to_id)
    local.update(
        bill_to_contact_id=local_contact(account.bill_to_id), sold_to_contact_id=sold_to_pk
    )
    _announce_sold_to_change(upserted.pk, before, (sold_to_pk, sold_to_email(sold_to_pk)))
    return result


def _upsert_contact(
    contact: ZuoraContact, *, account_pk: int, synced_at: datetime, result: ReconcileResult
) -> int:
    sold_to_of = list(
        BillingAccount.objects.filter(sold_to_contact__zuora_id=contact.id).values_list(
            "pk", "sold_to_contact_id"
        )
    )
    emails_before = {
        account: (contact_pk, sold_to_email(contact_pk)) for account, contact_pk in sold_to_of
    }
    upserted = upsert_by_zuora_id(
        BillingAccountContact,
        contact_values(contact, account_pk=account_pk, synced_at=synced_at),
    )
    if upserted.written:
        result.contacts_written += 1
        for account, before in emails_before.items():
            _announce_sold_to_change(account, before, (before[0], sold_to_email(before[0])))
    else:
        result.contacts_stale += 1
    return upserted.pk


def reconcile_contact(
    contact: ZuoraContact, *, account_pk: int, synced_at: datetime | None = None
) -> ReconcileResult:
    """Upsert one contact of a local billing account."""
    result = ReconcileResult()
    _upsert_contact(
        contact, account_pk=account_pk, synced_at=synced_at or timezone.now(), result=result
    )
    return result


def local_account_pk(zuora_id: str) -> int | None:
    return BillingAccount.objects.filter(zuora_id=zuora_id).values_list("pk", flat=True).first()


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
