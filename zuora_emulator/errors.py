"""Zuora's error envelopes and the ``Zuora-Version`` rule for v1 error statuses."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

# The date version from which v1 errors carry a real HTTP status [UPG].
REAL_STATUS_SINCE = "2024-05-20"
CATEGORY_STATUS = {
    10: 403,
    11: 401,
    20: 400,
    21: 400,
    22: 400,
    23: 400,
    27: 400,
    30: 400,
    40: 404,
    45: 405,
    50: 409,
    60: 500,
    61: 500,
    70: 429,
    90: 400,
    99: 500,
}
# GET and DELETE carry no payload, so Zuora names no resource: code 500000xx [EC].
GENERIC_RESOURCE = 500000


def error_code(category: int) -> int:
    """The 8-digit code the emulator uses for a category (resource part 500000)."""
    return GENERIC_RESOURCE * 100 + category


def request_id_of(request: Request) -> str:
    """The ``Zuora-Request-Id`` the gateway middleware gave this request."""
    return str(request.scope.get("state", {}).get("request_id", ""))


def uses_real_status(version: str | None) -> bool:
    """True when ``Zuora-Version`` asks for real HTTP error statuses (>= 2024-05-20).

    Legacy numbered versions (186.0 ... 341.0) all predate the change and get 200.
    """
    if not version:
        return False
    version = version.strip()
    if len(version) == 10 and version[4] == "-" and version[7] == "-":
        return version >= REAL_STATUS_SINCE
    return False


def effective_version(request: Request) -> str:
    """The request's ``Zuora-Version`` header, or the tenant default."""
    default = request.app.state.emulator.options.default_version
    return request.headers.get("zuora-version") or default


def v1_error(request: Request, category: int, message: str) -> JSONResponse:
    """A v1 failure: ``{success:false, processId, reasons, requestId}``.

    The HTTP status follows the category only from version 2024-05-20; before that Zuora
    answered 200 with the failure in the body [UPG].
    """
    body = {
        "success": False,
        "processId": secrets.token_hex(8).upper(),
        "reasons": [{"code": error_code(category), "message": message}],
        "requestId": request_id_of(request),
    }
    status = CATEGORY_STATUS[category] if uses_real_status(effective_version(request)) else 200
    return JSONResponse(body, status_code=status)


def object_query_error(request: Request, category: int, message: str) -> JSONResponse:
    """An Object Query failure in the 2025-08-12 form ``{reasons, requestId}`` [UPG]."""
    body: dict[str, Any] = {
        "reasons": [{"code": error_code(category), "message": message}],
        "requestId": request_id_of(request),
    }
    return JSONResponse(body, status_code=CATEGORY_STATUS[category])
