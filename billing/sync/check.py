"""Compare the whole local copy with Zuora, page by page, without writing (`zuora_sync --check`).

Differences are compare.py's (ids and field names only, never personal
values), page by page as Zuora returns them. Only the ids seen in Zuora are
kept, to find local objects Zuora no longer has.
"""

from collections.abc import Callable, Iterator
from itertools import batched

from billing.models import BillingAccount, BillingAccountContact
from billing.sync.compare import Difference, account_page_differences, contact_page_differences
from billing.sync.zuora_access import zuora_client
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
            account_page_differences,
        ),
        (
            "contact",
            BillingAccountContact,
            batched(client.iter_contacts(page_size=page_size), page_size),
            contact_page_differences,
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
