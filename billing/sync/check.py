"""Compare the whole local copy with Zuora, page by page, without writing (`zuora_sync --check`).

Differences are those of compare.py (same wording, ids and field names only,
never personal values); unlike it, local rows are loaded one page at a time.
Only the ids seen in Zuora are kept, to find local objects Zuora no longer has.
"""

from collections.abc import Callable, Iterator, Sequence
from itertools import batched

from billing.models import BillingAccount, BillingAccountContact
from billing.sync.compare import Difference
from billing.sync.reconcile import account_fields, contact_fields
from billing.sync.zuora_access import zuora_client
from zuora import ZuoraAccount, ZuoraContact
from zuora.query import MAX_PAGE_SIZE

PageCallback = Callable[[str, int], None]


def differences_from_zuora(
    *, on_page: PageCallback | None = None, page_size: int = MAX_PAGE_SIZE
) -> Iterator[Difference]:
    """Every difference between the local copy and Zuora, accounts first, then contacts.

    `on_page(kind, objects_read)` is called after each page of Zuora objects.
    """
    client = zuora_client()
    for kind, model, pages, compare in (
        (
            "account",
            BillingAccount,
            batched(client.iter_accounts(page_size=page_size), page_size),
            _account_page,
        ),
        (
            "contact",
            BillingAccountContact,
            batched(client.iter_contacts(page_size=page_size), page_size),
            _contact_page,
        ),
    ):
        seen: set[str] = set()
        for page in pages:
            seen.update(item.id for item in page)
            yield from compare(page)
            if on_page is not None:
                on_page(kind, len(seen))
        local_ids = model.objects.order_by("pk").values_list("zuora_id", flat=True)
        for zuora_id in local_ids.iterator(chunk_size=2000):
            if zuora_id not in seen:
                yield Difference(kind, zuora_id, "gone from Zuora")


def _account_page(page: Sequence[ZuoraAccount]) -> Iterator[Difference]:
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


def _contact_page(page: Sequence[ZuoraContact]) -> Iterator[Difference]:
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
