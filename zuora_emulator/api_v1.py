"""REST API v1: accounts and contacts [POSTACC][GETACC][PUTACC][DELACC][POSTCON]…"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zuora_emulator.errors import v1_error
from zuora_emulator.fields import INVALID_VALUE, MISSING_FIELD, StateError
from zuora_emulator.render import account_v1, contact_v1
from zuora_emulator.state import EmulatorState

# Create-account fields the emulator accepts but does not model (no subscriptions,
# payment methods or tax); they are ignored rather than refused.
IGNORED_ACCOUNT_FIELDS = {
    "shipToContact",
    "shipToSameAsBillTo",
    "shipToContactId",
    "taxInfo",
    "paymentMethod",
    "creditCard",
    "hpmCreditCardPaymentMethodId",
    "subscription",
    "invoiceTemplateId",
    "paymentGateway",
    "profileNumber",
    "sequenceSetId",
    "organizationLabel",
    "invoice",
    "collect",
    "runBilling",
    "documentDate",
    "targetDate",
    "einvoiceProfile",
    "eReportingProfile",
}


class BadRequest(Exception):
    """A request body Zuora would refuse before touching any object."""

    def __init__(self, category: int, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


def _state(request: Request) -> EmulatorState:
    return request.app.state.emulator.state


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise BadRequest(90, f"Malformed JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest(90, "The request body must be a JSON object.")
    return body


def _contact_body(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(INVALID_VALUE, f"Field '{name}' must be an object.")
    return value


def _ok(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body)


def _handles_errors(handler):  # type: ignore[no-untyped-def]
    """Turn BadRequest and StateError into Zuora's v1 error envelope."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except (BadRequest, StateError) as exc:
            return v1_error(request, exc.category, exc.message)

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


@_handles_errors
async def create_account(request: Request) -> Response:
    """``POST /v1/accounts`` with Bill-To (required) and Sold-To contacts."""
    body = await _json_body(request)
    for required in ("name", "currency", "billToContact"):
        if not body.get(required):
            raise BadRequest(MISSING_FIELD, f"Field '{required}' is required.")
    fields = {
        k: v
        for k, v in body.items()
        if k
        not in IGNORED_ACCOUNT_FIELDS
        | {"name", "currency", "billToContact", "soldToContact", "soldToSameAsBillTo"}
        | {"accountNumber"}
    }
    sold_to = body.get("soldToContact")
    account = _state(request).create_account(
        name=body["name"],
        currency=body["currency"],
        bill_to=_contact_body(body["billToContact"], "billToContact"),
        sold_to=_contact_body(sold_to, "soldToContact") if sold_to is not None else None,
        sold_to_same_as_bill_to=body.get("soldToSameAsBillTo") is True,
        account_number=body.get("accountNumber") or None,
        fields=fields,
    )
    return _ok(
        {
            "success": True,
            "accountId": account.id,
            "accountNumber": account.account_number,
            "billToContactId": account.bill_to_id,
            "soldToContactId": account.sold_to_id,
        },
    )


@_handles_errors
async def get_account(request: Request) -> Response:
    """``GET /v1/accounts/{account-key}``: basic information, no timestamps [GETACC]."""
    state = _state(request)
    with state.lock:
        account = state.get_account(request.path_params["account_key"])
        bill_to = state.contacts.get(account.bill_to_id or "")
        sold_to = state.contacts.get(account.sold_to_id or "")
        return _ok(account_v1(account, bill_to, sold_to))


@_handles_errors
async def update_account(request: Request) -> Response:
    """``PUT /v1/accounts/{account-key}``: fields, Bill-To/Sold-To switch, contact edits."""
    body = await _json_body(request)
    nested = {}
    for name in ("billToContact", "soldToContact"):
        if name in body:
            nested[name] = _contact_body(body[name], name)
    fields = {
        k: v
        for k, v in body.items()
        if k not in IGNORED_ACCOUNT_FIELDS
        and k not in ("billToContactId", "soldToContactId", "billToContact", "soldToContact")
    }
    _state(request).update_account(
        request.path_params["account_key"],
        fields=fields,
        bill_to_contact_id=body.get("billToContactId") or None,
        sold_to_contact_id=body.get("soldToContactId") or None,
        bill_to=nested.get("billToContact"),
        sold_to=nested.get("soldToContact"),
    )
    return _ok({"success": True})


@_handles_errors
async def delete_account(request: Request) -> Response:
    """``DELETE /v1/accounts/{account-key}``: an asynchronous job, Pending at first."""
    account_id, job_id = _state(request).delete_account(request.path_params["account_key"])
    return _ok({"id": account_id, "jobId": job_id, "jobStatus": "Pending", "success": True})


@_handles_errors
async def create_contact(request: Request) -> Response:
    """``POST /v1/contacts`` on the account named by ``accountId`` or ``accountNumber``."""
    body = await _json_body(request)
    state = _state(request)
    account_id, account_number = body.pop("accountId", None), body.pop("accountNumber", None)
    if not account_id and not account_number:
        raise BadRequest(MISSING_FIELD, "Field 'accountId' or 'accountNumber' is required.")
    if account_id and account_number and state.get_account(account_number).id != account_id:
        raise BadRequest(INVALID_VALUE, "accountId and accountNumber name different accounts.")
    contact = state.create_contact(account_key=account_id or account_number, fields=body)
    return _ok(_contact_response(state, contact.id))


def _contact_response(state: EmulatorState, contact_id: str) -> dict[str, Any]:
    with state.lock:
        contact = state.get_contact(contact_id)
        number = state.accounts[contact.account_id].account_number
        return {**contact_v1(contact, number), "success": True}


@_handles_errors
async def get_contact(request: Request) -> Response:
    """``GET /v1/contacts/{contactId}``: the contact, without timestamps [GETCON]."""
    return _ok(_contact_response(_state(request), request.path_params["contact_id"]))


@_handles_errors
async def update_contact(request: Request) -> Response:
    """``PUT /v1/contacts/{contactId}``: a partial update; the account cannot change."""
    body = await _json_body(request)
    state = _state(request)
    contact_id = request.path_params["contact_id"]
    account_id = body.pop("accountId", None)
    if account_id and account_id != state.get_contact(contact_id).account_id:
        raise BadRequest(INVALID_VALUE, "Use PUT /v1/contacts/{contactId}/transfer to move it.")
    body.pop("accountNumber", None)
    state.update_contact(contact_id, body)
    return _ok(_contact_response(state, contact_id))


@_handles_errors
async def delete_contact(request: Request) -> Response:
    """``DELETE /v1/contacts/{contactId}``; refused for a current Bill-To/Sold-To."""
    _state(request).delete_contact(request.path_params["contact_id"])
    return _ok({"success": True})


@_handles_errors
async def scrub_contact(request: Request) -> Response:
    """``PUT /v1/contacts/{contactId}/scrub``: overwrite personal data [SCRUB]."""
    _state(request).scrub_contact(request.path_params["contact_id"])
    return _ok({"success": True})


ROUTES = [
    Route("/v1/accounts", create_account, methods=["POST"]),
    Route("/v1/accounts/{account_key}", get_account, methods=["GET"]),
    Route("/v1/accounts/{account_key}", update_account, methods=["PUT"]),
    Route("/v1/accounts/{account_key}", delete_account, methods=["DELETE"]),
    Route("/v1/contacts", create_contact, methods=["POST"]),
    Route("/v1/contacts/{contact_id}", get_contact, methods=["GET"]),
    Route("/v1/contacts/{contact_id}", update_contact, methods=["PUT"]),
    Route("/v1/contacts/{contact_id}", delete_contact, methods=["DELETE"]),
    Route("/v1/contacts/{contact_id}/scrub", scrub_contact, methods=["PUT"]),
]
