"""The operations the sync needs, over Zuora's Object Query API."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Self

import httpx

from zuora.config import ZuoraConfig
from zuora.errors import ZuoraResponseError
from zuora.models import ZuoraAccount, ZuoraContact, parse_account, parse_contact, parse_page
from zuora.query import (
    MAX_PAGE_SIZE,
    QueryParams,
    check_page_size,
    encode_query,
    equals_param,
    id_batches,
    ids_in_param,
    updated_since_params,
)
from zuora.transport import ApiRequest, Transport

# Object Query rather than GET /v1/accounts/{key}: only Object Query returns
# updatedDate, which the stale-write guard needs, and it expands both
# contacts in the same call.
ACCOUNT_PATH = "/object-query/accounts/{key}"
ACCOUNTS_PATH = "/object-query/accounts"
CONTACT_PATH = "/object-query/contacts/{key}"
CONTACTS_PATH = "/object-query/contacts"

_EXPAND_CONTACTS: QueryParams = [("expand[]", "billto"), ("expand[]", "soldto")]


class ZuoraClient:
    """Thread-safe client for one Zuora tenant; share one instance across a process's threads."""

    def __init__(
        self, config: ZuoraConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        """``transport`` replaces httpx's network layer, e.g. to instrument or proxy requests."""
        self.config = config
        self._transport = Transport(config, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._transport.close()

    def call_counts(self) -> dict[tuple[str, str], int]:
        """HTTP requests made so far by ``(operation, outcome)``, retries included."""
        return self._transport.calls.snapshot()

    def get_account(self, key: str) -> ZuoraAccount:
        """The account by id or number, with Bill-To and Sold-To expanded; raises ZuoraNotFound."""
        body = self._transport.request_json(
            ApiRequest(
                operation="get_account",
                method="GET",
                path_template=ACCOUNT_PATH,
                path_params={"key": _non_empty(key, "key")},
                query=encode_query(_EXPAND_CONTACTS),
            )
        )
        return parse_account(body)

    def get_contact(self, contact_id: str) -> ZuoraContact:
        """The contact by id; raises ZuoraNotFound."""
        body = self._transport.request_json(
            ApiRequest(
                operation="get_contact",
                method="GET",
                path_template=CONTACT_PATH,
                path_params={"key": _non_empty(contact_id, "contact_id")},
            )
        )
        return parse_contact(body)

    def iter_accounts(
        self,
        *,
        updated_since: datetime | None = None,
        ids: Iterable[str] | None = None,
        expand_contacts: bool = True,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[ZuoraAccount]:
        """Stream accounts page by page, ascending ``updatedDate`` when ``updated_since`` is given.

        With ``ids`` the ids are queried in batches, each sorted on its own.
        """
        params: QueryParams = [("pageSize", str(check_page_size(page_size)))]
        if expand_contacts:
            params += _EXPAND_CONTACTS
        if updated_since is not None:
            params += updated_since_params(updated_since)
        for filter_params in _id_filters(ids):
            for record in self._records("query_accounts", ACCOUNTS_PATH, params + filter_params):
                yield parse_account(record)

    def iter_contacts(
        self,
        *,
        updated_since: datetime | None = None,
        account_id: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[ZuoraContact]:
        """Stream contacts page by page, ascending ``updatedDate`` with ``updated_since``."""
        params: QueryParams = [("pageSize", str(check_page_size(page_size)))]
        if account_id is not None:
            params.append(equals_param("accountid", account_id))
        if updated_since is not None:
            params += updated_since_params(updated_since)
        for record in self._records("query_contacts", CONTACTS_PATH, params):
            yield parse_contact(record)

    def existing_account_ids(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that name an account in Zuora, in one call per 50 ids."""
        found: set[str] = set()
        if isinstance(ids, str):
            raise TypeError("ids must be an iterable of ids, not one string")
        for batch in id_batches(ids):
            params = [("pageSize", str(MAX_PAGE_SIZE)), ("fields[]", "id"), ids_in_param(batch)]
            for index, record in enumerate(self._records("query_accounts", ACCOUNTS_PATH, params)):
                account_id = record.get("id")
                if not isinstance(account_id, str):
                    where = f"page.data[{index}].id"
                    raise ZuoraResponseError(f"{where}: expected a string", field=where)
                found.add(account_id)
        return found

    def _records(
        self, operation: str, path: str, params: QueryParams
    ) -> Iterator[Mapping[str, object]]:
        """The raw records of every page, fetching the next page only when it is needed."""
        cursor: str | None = None
        while True:
            page_params = params if cursor is None else [*params, ("cursor", cursor)]
            body = self._transport.request_json(
                ApiRequest(
                    operation=operation,
                    method="GET",
                    path_template=path,
                    query=encode_query(page_params),
                )
            )
            page = parse_page(body)
            yield from page.records
            if page.next_page is None:
                return
            if page.next_page == cursor:
                # A cursor that does not move would loop forever.
                raise ZuoraResponseError("page.nextPage: repeats the previous cursor")
            cursor = page.next_page


def _id_filters(ids: Iterable[str] | None) -> Iterator[QueryParams]:
    """No filter at all when ``ids`` is None, else one ``id.IN`` filter per batch."""
    if ids is None:
        yield []
        return
    if isinstance(ids, str):
        raise TypeError("ids must be an iterable of ids, not one string")
    for batch in id_batches(ids):
        yield [ids_in_param(batch)]


def _non_empty(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value
