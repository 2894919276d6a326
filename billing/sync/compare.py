"""Compare the local copy with Zuora's objects, field by field, without writing.

Used by `zuora_sync --check`, by the demo's and the chaos run's final check,
and by the tests. Differences name objects by Zuora id and fields by name,
never by their (personal) values.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from billing.models import BillingAccount, BillingAccountContact
from billing.sync.reconcile import account_fields, contact_fields
from zuora import ZuoraAccount, ZuoraContact


@dataclass(frozen=True)
class Difference:
    kind: str  # "account" or "contact"
    zuora_id: str
    what: str  # "missing here", "gone from Zuora", or the differing fields

    def __str__(self) -> str:
        return f"{self.kind} {self.zuora_id}: {self.what}"


def account_differences(
    zuora_accounts: Iterable[ZuoraAccount], *, complete: bool
) -> list[Difference]:
    """Differences between these Zuora accounts and local ones (incl. Bill-To/Sold-To).

    With `complete`, the accounts are all Zuora has, so local extras are reported.
    """
    local = {
        account.zuora_id: account
        for account in BillingAccount.objects.select_related("bill_to_contact", "sold_to_contact")
    }
    found: list[Difference] = []
    seen = set()
    for remote in zuora_accounts:
        seen.add(remote.id)
        here = local.get(remote.id)
        if here is None:
            found.append(Difference("account", remote.id, "missing here"))
            continue
        fields = [
            name for name, value in account_fields(remote).items() if getattr(here, name) != value
        ]
        if _zuora_id(here.bill_to_contact) != remote.bill_to_id:
            fields.append("bill_to_contact")
        if _zuora_id(here.sold_to_contact) != remote.sold_to_id:
            fields.append("sold_to_contact")
        if fields:
            found.append(Difference("account", remote.id, "differs in " + ", ".join(fields)))
    if complete:
        found.extend(
            Difference("account", zuora_id, "gone from Zuora")
            for zuora_id in sorted(set(local) - seen)
        )
    return found


def contact_differences(
    zuora_contacts: Iterable[ZuoraContact], *, complete: bool
) -> list[Difference]:
    """Differences between these Zuora contacts and local ones (incl. their account)."""
    local = {
        contact.zuora_id: contact
        for contact in BillingAccountContact.objects.select_related("billing_account")
    }
    found: list[Difference] = []
    seen = set()
    for remote in zuora_contacts:
        seen.add(remote.id)
        here = local.get(remote.id)
        if here is None:
            found.append(Difference("contact", remote.id, "missing here"))
            continue
        fields = [
            name for name, value in contact_fields(remote).items() if getattr(here, name) != value
        ]
        if here.billing_account.zuora_id != remote.account_id:
            fields.append("billing_account")
        if fields:
            found.append(Difference("contact", remote.id, "differs in " + ", ".join(fields)))
    if complete:
        found.extend(
            Difference("contact", zuora_id, "gone from Zuora")
            for zuora_id in sorted(set(local) - seen)
        )
    return found


def _zuora_id(contact: BillingAccountContact | None) -> str | None:
    return contact.zuora_id if contact is not None else None
