"""Compare the local copy with Zuora's objects, field by field, without writing.

Used by `zuora_sync --check`, by the demo's and the chaos run's final check,
and by the tests. Differences name objects by Zuora id and fields by name,
never by their (personal) values.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import batched

from billing.models import BillingAccount, BillingAccountContact
from billing.sync.reconcile import account_fields, contact_fields
from zuora import ZuoraAccount, ZuoraContact

# Local rows are loaded this many Zuora objects at a time.
PAGE = 500


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
    return _differences(
        "account", BillingAccount, zuora_accounts, account_page_differences, complete=complete
    )


def contact_differences(
    zuora_contacts: Iterable[ZuoraContact], *, complete: bool
) -> list[Difference]:
    """Differences between these Zuora contacts and local ones (incl. their account)."""
    return _differences(
        "contact",
        BillingAccountContact,
        zuora_contacts,
        contact_page_differences,
        complete=complete,
    )


def _differences[T: (ZuoraAccount, ZuoraContact)](
    kind: str,
    model: type[BillingAccount] | type[BillingAccountContact],
    remote: Iterable[T],
    page_differences: Callable[[Sequence[T]], Iterator[Difference]],
    *,
    complete: bool,
) -> list[Difference]:
    found: list[Difference] = []
    seen: set[str] = set()
    for page in batched(remote, PAGE):
        seen.update(item.id for item in page)
        found.extend(page_differences(page))
    if complete:
        local = set(model.objects.values_list("zuora_id", flat=True))
        found.extend(
            Difference(kind, zuora_id, "gone from Zuora") for zuora_id in sorted(local - seen)
        )
    return found


def account_page_differences(page: Sequence[ZuoraAccount]) -> Iterator[Difference]:
    """How the local rows of one page of Zuora accounts differ from it."""
    local = BillingAccount.objects.select_related("bill_to_contact", "sold_to_contact").in_bulk(
        [remote.id for remote in page], field_name="zuora_id"
    )
    for remote in page:
        here = local.get(remote.id)
        if here is None:
            yield Difference("account", remote.id, "missing here")
            continue
        fields = [
            name for name, value in account_fields(remote).items() if getattr(here, name) != value
        ]
        if _zuora_id(here.bill_to_contact) != remote.bill_to_id:
            fields.append("bill_to_contact")
        if _zuora_id(here.sold_to_contact) != remote.sold_to_id:
            fields.append("sold_to_contact")
        if fields:
            yield Difference("account", remote.id, "differs in " + ", ".join(fields))


def contact_page_differences(page: Sequence[ZuoraContact]) -> Iterator[Difference]:
    """How the local rows of one page of Zuora contacts differ from it."""
    local = BillingAccountContact.objects.select_related("billing_account").in_bulk(
        [remote.id for remote in page], field_name="zuora_id"
    )
    for remote in page:
        here = local.get(remote.id)
        if here is None:
            yield Difference("contact", remote.id, "missing here")
            continue
        fields = [
            name for name, value in contact_fields(remote).items() if getattr(here, name) != value
        ]
        if here.billing_account.zuora_id != remote.account_id:
            fields.append("billing_account")
        if fields:
            yield Difference("contact", remote.id, "differs in " + ", ".join(fields))


def _zuora_id(contact: BillingAccountContact | None) -> str | None:
    return contact.zuora_id if contact is not None else None
