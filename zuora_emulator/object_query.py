"""Object Query API: ``/object-query/accounts`` and ``/object-query/contacts`` [QA][QC][OQ].

Lists sorted by ``updatedDate`` (the default, and what incremental sync uses) walk the
state's sorted index from the cursor position, so a page costs about what it returns;
other sort fields fall back to sorting the matching objects.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zuora_emulator.clock import Clock
from zuora_emulator.errors import object_query_error
from zuora_emulator.records import Account, Contact
from zuora_emulator.render import account_oq, contact_oq
from zuora_emulator.state import EmulatorState

MAX_PAGE_SIZE = 99  # [QA]; the SDK itself stops at 50.
DEFAULT_PAGE_SIZE = 10
OPERATORS = ("EQ", "NE", "GT", "GE", "LT", "LE", "SW", "IN")
EMPTY_STRING = "\x02\x03"  # how a filter spells "" [OQ]

# Filterable/sortable fields (lower case) -> record attribute; None: never set here.
ACCOUNT_FILTER_FIELDS: dict[str, str | None] = {
    "id": "id",
    "updateddate": "updated_date",
    "accountnumber": "account_number",
    "balance": "balance",
    "batch": "batch",
    "billcycleday": "bill_cycle_day",
    "billtoid": "bill_to_id",
    "communicationprofileid": "communication_profile_id",
    "crmid": "crm_id",
    "currency": "currency",
    "defaultpaymentmethodid": None,
    "invoicetemplateid": None,
    "lastinvoicedate": None,
    "name": "name",
    "parentid": "parent_id",
    "shiptoid": None,
    "soldtoid": "sold_to_id",
    "status": "status",
}
CONTACT_FILTER_FIELDS: dict[str, str | None] = {
    "id": "id",
    "updateddate": "updated_date",
    "accountid": "account_id",
    "country": "country",
    "firstname": "first_name",
    "lastname": "last_name",
    "personalemail": "personal_email",
    "workemail": "work_email",
    "workphone": "work_phone",
}
NUMERIC_FIELDS = {"balance", "billcycleday"}
# Zuora's sample cursors spell the field the SOAP way, e.g. "UpdatedDate" [QA].
CURSOR_FIELD_NAMES = {
    "updateddate": "UpdatedDate",
    "id": "Id",
    "accountnumber": "AccountNumber",
    "name": "Name",
}
# Expansions Zuora offers on accounts; only the contacts are modelled, the rest are empty.
ACCOUNT_EXPANSIONS = {
    "billto": "billTo",
    "soldto": "soldTo",
    "shipto": "shipTo",
    "defaultpaymentmethod": "defaultPaymentMethod",
    "subscriptions": "subscriptions",
    "payments": "payments",
    "refunds": "refunds",
    "creditmemos": "creditMemos",
    "debitmemos": "debitMemos",
    "invoices": "invoices",
    "usages": "usages",
    "paymentmethods": "paymentMethods",
    "subscriptions.rateplans": None,
    "subscriptions.rateplans.rateplancharges": None,
}
LIST_EXPANSIONS = {
    "subscriptions",
    "payments",
    "refunds",
    "creditMemos",
    "debitMemos",
    "invoices",
    "usages",
    "paymentMethods",
}


class QueryError(Exception):
    """An invalid Object Query parameter: category 27, HTTP 400 [UPG]."""


@dataclass
class Filter:
    field: str
    attr: str | None
    op: str
    value: Any


@dataclass
class Query:
    page_size: int
    filters: list[Filter]
    sort_field: str
    descending: bool
    cursor: tuple[Any, str] | None
    fields: dict[str, set[str] | None]
    expand: list[str]
    include_nulls: bool


class ObjectKind:
    """What differs between accounts and contacts in a query."""

    def __init__(
        self,
        name: str,
        filter_fields: dict[str, str | None],
        render: Callable[[Any, Clock], dict[str, Any]],
        expansions: dict,
    ) -> None:
        self.name = name
        self.filter_fields = filter_fields
        self.render = render
        self.expansions = expansions

    def objects(self, state: EmulatorState) -> dict[str, Any]:
        return state.accounts if self.name == "account" else state.contacts

    def index(self, state: EmulatorState) -> list[tuple[int, str]]:
        return state.account_index if self.name == "account" else state.contact_index


ACCOUNTS = ObjectKind("account", ACCOUNT_FILTER_FIELDS, account_oq, ACCOUNT_EXPANSIONS)
CONTACTS = ObjectKind("contact", CONTACT_FILTER_FIELDS, contact_oq, {})


def _value(obj: Account | Contact, flt_field: str, attr: str | None) -> Any:
    if flt_field.endswith("__c"):
        lowered = {k.lower(): v for k, v in obj.custom_fields.items()}
        return lowered.get(flt_field)
    return getattr(obj, attr) if attr else None


def _parse_scalar(raw: str, field: str, clock: Clock) -> Any:
    if raw.lower() == "null":
        return None
    if raw == EMPTY_STRING:
        return ""
    if field == "updateddate":
        try:
            return clock.parse(raw)
        except ValueError as exc:
            raise QueryError(f"Invalid datetime '{raw}' for updatedDate.") from exc
    if field in NUMERIC_FIELDS:
        try:
            return float(raw)
        except ValueError as exc:
            raise QueryError(f"Invalid number '{raw}' for {field}.") from exc
    return raw


def parse_filter(text: str, kind: ObjectKind, clock: Clock) -> Filter:
    """``<field>.<OP>:<value>`` → Filter; field names and operators are case-insensitive."""
    head, sep, raw = text.partition(":")
    field, dot, op = head.rpartition(".")
    field, op = field.lower(), op.upper()
    if not sep or not dot or op not in OPERATORS:
        raise QueryError(f"Invalid filter '{text}'. Use <field>.<OP>:<value>.")
    if field not in kind.filter_fields and not field.endswith("__c"):
        raise QueryError(f"Field '{field}' cannot be filtered on {kind.name}.")
    if op == "IN":
        if not (raw.startswith("[") and raw.endswith("]")):
            raise QueryError(f"IN needs a bracketed list: '{text}'.")
        items = [_parse_scalar(v.strip(), field, clock) for v in raw[1:-1].split(",")]
        return Filter(field, kind.filter_fields.get(field), op, items)
    value = _parse_scalar(raw, field, clock)
    if op == "SW" and not isinstance(value, str):
        raise QueryError("SW works on strings only.")
    return Filter(field, kind.filter_fields.get(field), op, value)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def matches(obj: Account | Contact, flt: Filter) -> bool:
    """Does one object pass one filter? EQ, NE and IN ignore case [OQ]."""
    actual = _value(obj, flt.field, flt.attr)
    if flt.op == "IN":
        return _fold(actual) in {_fold(v) for v in flt.value}
    if flt.op == "EQ":
        return _fold(actual) == _fold(flt.value)
    if flt.op == "NE":
        return _fold(actual) != _fold(flt.value)
    if actual is None or flt.value is None:
        return False
    if flt.op == "SW":
        return isinstance(actual, str) and actual.casefold().startswith(flt.value.casefold())
    try:
        return {
            "GT": actual > flt.value,
            "GE": actual >= flt.value,
            "LT": actual < flt.value,
            "LE": actual <= flt.value,
        }[flt.op]
    except TypeError:
        return False


def _encode_cursor(query: Query, obj: Account | Contact, clock: Clock) -> str:
    order = "DESC" if query.descending else "ASC"
    value = _sort_value(obj, query.sort_field, query)
    if query.sort_field == "updateddate":
        value = clock.render(value)
    keyset = [
        {
            "value": value,
            "orderBy": {
                "field": CURSOR_FIELD_NAMES.get(query.sort_field, query.sort_field),
                "order": order,
            },
        },
        {"value": obj.id, "orderBy": {"field": "Id", "order": order}},
    ]
    return base64.b64encode(json.dumps(keyset).encode()).decode()


def _decode_cursor(text: str, query: Query, clock: Clock) -> tuple[Any, str]:
    try:
        keyset = json.loads(base64.b64decode(text, validate=True))
        value, last_id = keyset[0]["value"], keyset[1]["value"]
        if str(keyset[0]["orderBy"]["field"]).lower() != query.sort_field:
            raise QueryError("The cursor belongs to a query with another sort order.")
        if query.sort_field == "updateddate":
            value = clock.parse(value)
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise QueryError("Invalid cursor.") from exc
    return value, str(last_id)


def _sort_value(obj: Account | Contact, field: str, query: Query) -> Any:
    attr = (
        ACCOUNT_FILTER_FIELDS.get(field)
        if isinstance(obj, Account)
        else (CONTACT_FILTER_FIELDS.get(field))
    )
    return getattr(obj, attr) if attr else None


def _sort_key(value: Any, obj_id: str) -> tuple[bool, Any, str]:
    # None sorts first ascending; the id breaks ties so the order is total.
    return (value is not None, value if value is not None else 0, obj_id)


def parse_query(request: Request, kind: ObjectKind, clock: Clock) -> Query:
    """Read pageSize, cursor, filter[], sort[], fields[], expand[] and includeNullFields."""
    params = request.query_params
    try:
        page_size = int(params.get("pageSize", DEFAULT_PAGE_SIZE))
    except ValueError as exc:
        raise QueryError("pageSize must be an integer.") from exc
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise QueryError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    filters = [parse_filter(f, kind, clock) for f in params.getlist("filter[]")]
    sorts = params.getlist("sort[]")
    sort_field, descending = "updateddate", True
    if len(sorts) > 1:
        raise QueryError("sort[] takes one field only.")
    if sorts:
        field, _, order = sorts[0].rpartition(".")
        field, order = field.lower(), order.upper()
        if field not in kind.filter_fields or order not in ("ASC", "DESC"):
            raise QueryError(f"Invalid sort '{sorts[0]}'. Use <field>.ASC or <field>.DESC.")
        sort_field, descending = field, order == "DESC"
    expand: list[str] = []
    for value in params.getlist("expand[]"):
        for name in value.split(","):
            name = name.strip().lower()
            if name not in kind.expansions:
                raise QueryError(f"'{name}' cannot be expanded on {kind.name}.")
            if kind.expansions[name] and kind.expansions[name] not in expand:
                expand.append(kind.expansions[name])
    fields: dict[str, set[str] | None] = {}
    for key in params:
        if key == "fields[]" or key.endswith(".fields[]"):
            scope = kind.name if key == "fields[]" else key[: -len(".fields[]")].lower()
            names = {n.strip().lower() for v in params.getlist(key) for n in v.split(",")}
            fields[scope] = {n for n in names if n}
    include_nulls = params.get("includeNullFields", "false").lower() == "true"
    query = Query(page_size, filters, sort_field, descending, None, fields, expand, include_nulls)
    if params.get("cursor"):
        query.cursor = _decode_cursor(params["cursor"], query, clock)
    return query


def _shape(body: dict[str, Any], wanted: set[str] | None, include_nulls: bool) -> dict[str, Any]:
    if wanted is not None:
        unknown = wanted - {k.lower() for k in body}
        if unknown:
            raise QueryError(f"Unknown fields: {', '.join(sorted(unknown))}.")
        body = {k: v for k, v in body.items() if k.lower() in wanted}
    if not include_nulls:
        # includeNullFields defaults to false: null-valued fields are left out [QA].
        body = {k: v for k, v in body.items() if v is not None}
    return body


def render(obj: Account | Contact, kind: ObjectKind, query: Query, state: EmulatorState) -> dict:
    """One object with the requested fields and expansions."""
    body = _shape(kind.render(obj, state.clock), query.fields.get(kind.name), query.include_nulls)
    for key in query.expand:
        if key in LIST_EXPANSIONS:
            body[key] = []
            continue
        ref = {"billTo": "bill_to_id", "soldTo": "sold_to_id"}.get(key)
        contact = state.contacts.get(getattr(obj, ref) or "") if ref else None
        if contact is not None:
            scope = key.lower()
            body[key] = _shape(
                contact_oq(contact, state.clock), query.fields.get(scope), query.include_nulls
            )
    return body


def _candidates(kind: ObjectKind, query: Query, state: EmulatorState) -> Iterator[Any]:
    objects = kind.objects(state)
    ids = next(
        (
            f.value if f.op == "IN" else [f.value]
            for f in query.filters
            if f.field == "id" and f.op in ("EQ", "IN")
        ),
        None,
    )
    if ids is not None:
        found = [objects[i] for i in {str(v) for v in ids if v} if i in objects]
        yield from _sorted_objects(found, query)
        return
    if query.sort_field != "updateddate":
        yield from _sorted_objects(objects.values(), query)
        return
    index = kind.index(state)
    if query.descending:
        pos = len(index)
        if query.cursor is not None:
            pos = bisect.bisect_left(index, query.cursor)
        for i in range(pos - 1, -1, -1):
            yield objects[index[i][1]]
    else:
        pos = 0
        if query.cursor is not None:
            pos = bisect.bisect_right(index, query.cursor)
        for i in range(pos, len(index)):
            yield objects[index[i][1]]


def _sorted_objects(objs: Any, query: Query) -> list[Any]:
    keyed = sorted(
        ((_sort_key(_sort_value(o, query.sort_field, query), o.id), o) for o in objs),
        key=lambda pair: pair[0],
        reverse=query.descending,
    )
    if query.cursor is not None:
        mark = _sort_key(query.cursor[0], query.cursor[1])
        keyed = [(k, o) for k, o in keyed if (k < mark if query.descending else k > mark)]
    return [o for _, o in keyed]


def run_query(kind: ObjectKind, query: Query, state: EmulatorState) -> dict[str, Any]:
    """One page: ``{"data": [...], "nextPage": cursor}`` (no nextPage on the last page)."""
    page: list[Any] = []
    more = False
    with state.lock:
        for obj in _candidates(kind, query, state):
            if all(matches(obj, f) for f in query.filters):
                if len(page) == query.page_size:
                    more = True
                    break
                page.append(obj)
        body: dict[str, Any] = {"data": [render(o, kind, query, state) for o in page]}
        if more:
            body["nextPage"] = _encode_cursor(query, page[-1], state.clock)
    return body


def _handler(kind: ObjectKind, single: bool) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator.state
        try:
            query = parse_query(request, kind, state.clock)
            if not single:
                return JSONResponse(run_query(kind, query, state))
            key = request.path_params["key"]
            with state.lock:
                obj = kind.objects(state).get(key)
                if obj is None and kind is ACCOUNTS:
                    obj = state.accounts.get(state.account_numbers.get(key, ""))
                if obj is None:
                    return object_query_error(
                        request, 40, f"Cannot find a {kind.name} with key {key}."
                    )
                return JSONResponse(render(obj, kind, query, state))
        except QueryError as exc:
            return object_query_error(request, 27, str(exc))

    handle.__doc__ = f"Object Query {'single' if single else 'list'} {kind.name} endpoint."
    return handle


ROUTES = [
    Route("/object-query/accounts", _handler(ACCOUNTS, single=False), methods=["GET"]),
    Route("/object-query/accounts/{key}", _handler(ACCOUNTS, single=True), methods=["GET"]),
    Route("/object-query/contacts", _handler(CONTACTS, single=False), methods=["GET"]),
    Route("/object-query/contacts/{key}", _handler(CONTACTS, single=True), methods=["GET"]),
]
