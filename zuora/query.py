"""Object Query parameters: filters, sorting, expansion, paging and batching of id lists."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import batched
from urllib.parse import quote, urlencode

# Object Query itself accepts up to 99, but the official SDK and the generic
# pagination guide stop at 50; staying there keeps us inside every reading.
MAX_PAGE_SIZE = 50

# Ids per ``id.IN:[...]`` filter. A 32-character id costs 35 bytes in the URL
# (its comma is encoded as %2C), so 50 ids make ~1.8 KB of query string:
# far below the ~8 KB at which proxies start refusing URLs, and one batch
# fits one page, so each batch costs exactly one call.
ID_BATCH_SIZE = 50

# Zuora ids are 32 hex characters and account numbers are similar; anything
# with separators would break the filter syntax (``,`` ``[`` ``]`` ``:``).
_FILTER_VALUE = re.compile(r"[0-9A-Za-z_.\-]{1,100}")

QueryParams = list[tuple[str, str]]


def encode_query(params: Sequence[tuple[str, str]]) -> str:
    """Percent-encode parameters, spaces as ``%20`` (the form Object Query documents)."""
    return urlencode(params, quote_via=quote)


def check_filter_value(value: str) -> str:
    """Return ``value`` if it is safe inside a filter, else raise ValueError."""
    if not isinstance(value, str) or not _FILTER_VALUE.fullmatch(value):
        raise ValueError(f"not a Zuora id: {value!r}")
    return value


def check_page_size(page_size: int) -> int:
    """Return ``page_size`` if it is within 1..MAX_PAGE_SIZE, else raise ValueError."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    return page_size


def format_filter_time(moment: datetime) -> str:
    """Whole seconds with the datetime's own offset, e.g. ``2025-03-13T14:30:46-07:00``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("updated_since must be an aware datetime")
    # Zuora stores whole seconds: dropping the fraction widens a GE filter by
    # less than a second, which can only re-read, never skip, an object.
    return moment.replace(microsecond=0).isoformat()


def updated_since_params(moment: datetime) -> QueryParams:
    """Filter on ``updatedDate >= moment`` and sort ascending, for watermark-driven reads."""
    return [
        ("filter[]", f"updateddate.GE:{format_filter_time(moment)}"),
        ("sort[]", "updateddate.ASC"),
    ]


def ids_in_param(ids: Sequence[str]) -> tuple[str, str]:
    """``filter[]=id.IN:[a,b,c]`` for one batch of ids."""
    return ("filter[]", f"id.IN:[{','.join(check_filter_value(i) for i in ids)}]")


def equals_param(field: str, value: str) -> tuple[str, str]:
    """``filter[]=<field>.EQ:<value>`` for an id-like value."""
    return ("filter[]", f"{field}.EQ:{check_filter_value(value)}")


def id_batches(ids: Iterable[str], size: int = ID_BATCH_SIZE) -> Iterator[tuple[str, ...]]:
    """Distinct ids, validated, in their first-seen order, cut into batches of ``size``."""
    distinct = dict.fromkeys(check_filter_value(i) for i in ids)
    return batched(distinct, size)
