"""Our own typed view of Zuora accounts and contacts, parsed leniently from Object Query JSON.

Lenient means: unknown fields are ignored, absent or null optional fields get
a blank value, but a field of the wrong type is rejected with a
:class:`ZuoraResponseError` that names it (``account.billTo.workEmail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from zuora.errors import ZuoraResponseError


@dataclass(frozen=True, slots=True)
class ZuoraContact:
    """A Zuora contact with the fields we store; blank text is ``""``."""

    id: str
    account_id: str | None
    first_name: str
    last_name: str
    nickname: str
    work_email: str
    personal_email: str
    work_phone: str
    mobile_phone: str
    home_phone: str
    fax: str
    address1: str
    address2: str
    city: str
    county: str
    state: str
    postal_code: str
    country: str
    tax_region: str
    updated_date: datetime | None


@dataclass(frozen=True, slots=True)
class ZuoraAccount:
    """A Zuora account with its Bill-To and Sold-To contacts when they were expanded."""

    id: str
    account_number: str
    name: str
    status: str
    currency: str
    batch: str
    bill_to_id: str | None
    sold_to_id: str | None
    updated_date: datetime | None
    bill_to: ZuoraContact | None
    sold_to: ZuoraContact | None


# Our field -> Object Query names, first present wins. The later names are
# the v1 REST spellings, accepted so a v1-shaped payload parses too.
_CONTACT_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstName",),
    "last_name": ("lastName",),
    "nickname": ("nickName", "nickname"),
    "work_email": ("workEmail",),
    "personal_email": ("personalEmail",),
    "work_phone": ("workPhone",),
    "mobile_phone": ("mobilePhone",),
    "home_phone": ("homePhone",),
    "fax": ("fax",),
    "address1": ("address1",),
    "address2": ("address2",),
    "city": ("city",),
    "county": ("county",),
    "state": ("state",),
    "postal_code": ("postalCode", "zipCode"),
    "country": ("country",),
    "tax_region": ("taxRegion",),
}

_ACCOUNT_TEXT_FIELDS: dict[str, str] = {
    "account_number": "accountNumber",
    "name": "name",
    "status": "status",
    "currency": "currency",
    "batch": "batch",
}


def _bad(where: str, expected: str, value: object) -> ZuoraResponseError:
    found = type(value).__name__
    return ZuoraResponseError(f"{where}: expected {expected}, got {found}", field=where)


def _object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _bad(where, "a JSON object", value)
    return value


def _text(obj: Mapping[str, object], names: tuple[str, ...], where: str) -> str:
    for name in names:
        value = obj.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _bad(f"{where}.{name}", "a string", value)
        return value
    return ""


def _optional_id(obj: Mapping[str, object], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(f"{where}.{name}", "a string", value)
    return value


def _required_id(obj: Mapping[str, object], name: str, where: str) -> str:
    value = _optional_id(obj, name, where)
    if value is None:
        raise ZuoraResponseError(f"{where}.{name}: missing", field=f"{where}.{name}")
    return value


def parse_timestamp(value: object, where: str) -> datetime | None:
    """An aware datetime from Zuora's ``2025-02-20T00:15:49-08:00`` (or ``…Z``); None if absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(where, "a timestamp string", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ZuoraResponseError(f"{where}: not an ISO 8601 timestamp", field=where) from None
    if moment.tzinfo is None:
        # Without an offset the instant depends on the tenant's time zone,
        # which we do not know; guessing would corrupt the stale-write guard.
        raise ZuoraResponseError(f"{where}: timestamp has no UTC offset", field=where)
    return moment


def parse_contact(
    value: object, *, where: str = "contact", account_id: str | None = None
) -> ZuoraContact:
    """Parse an Object Query contact; ``account_id`` fills in for expanded contacts lacking one."""
    obj = _object(value, where)
    texts = {field: _text(obj, names, where) for field, names in _CONTACT_TEXT_FIELDS.items()}
    return ZuoraContact(
        id=_required_id(obj, "id", where),
        account_id=_optional_id(obj, "accountId", where) or account_id,
        updated_date=parse_timestamp(obj.get("updatedDate"), f"{where}.updatedDate"),
        **texts,
    )


def _expanded_contact(
    obj: Mapping[str, object], name: str, where: str, account_id: str
) -> ZuoraContact | None:
    value = obj.get(name)
    if value is None:
        return None
    return parse_contact(value, where=f"{where}.{name}", account_id=account_id)


def parse_account(value: object, *, where: str = "account") -> ZuoraAccount:
    """Parse an Object Query account, with ``billTo``/``soldTo`` when they were expanded."""
    obj = _object(value, where)
    account_id = _required_id(obj, "id", where)
    bill_to = _expanded_contact(obj, "billTo", where, account_id)
    sold_to = _expanded_contact(obj, "soldTo", where, account_id)
    texts = {field: _text(obj, (name,), where) for field, name in _ACCOUNT_TEXT_FIELDS.items()}
    return ZuoraAccount(
        id=account_id,
        bill_to_id=_optional_id(obj, "billToId", where) or (bill_to.id if bill_to else None),
        sold_to_id=_optional_id(obj, "soldToId", where) or (sold_to.id if sold_to else None),
        updated_date=parse_timestamp(obj.get("updatedDate"), f"{where}.updatedDate"),
        bill_to=bill_to,
        sold_to=sold_to,
        **texts,
    )


@dataclass(frozen=True, slots=True)
class QueryPage:
    """One page of an Object Query list: the raw records and the cursor of the next page."""

    records: list[Mapping[str, object]]
    next_page: str | None


def parse_page(value: object, *, where: str = "page") -> QueryPage:
    """Split ``{"data": [...], "nextPage": "..."}``; ``nextPage`` is absent on the last page."""
    obj = _object(value, where)
    data = obj.get("data", [])
    if not isinstance(data, list):
        raise _bad(f"{where}.data", "a list", data)
    records = [_object(item, f"{where}.data[{index}]") for index, item in enumerate(data)]
    next_page = obj.get("nextPage")
    if next_page is not None and not isinstance(next_page, str):
        raise _bad(f"{where}.nextPage", "a string", next_page)
    return QueryPage(records=records, next_page=next_page or None)
