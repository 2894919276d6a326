"""The callout endpoints: check the sender, read the object's id, record it, answer.

Zuora counts only HTTP 200 as delivered and retries on 403 and 5xx, so: 200
with `{"success": true}` once the callout is committed, 4xx for a callout that
can never succeed, 503 when it could not be recorded. No Zuora call is made
here; a background task fetches the object later.
"""

import logging
import re
from collections.abc import Callable, Sequence
from http import HTTPStatus

from django.conf import settings
from django.db import Error as DatabaseFailure
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing.callouts import authentication, payload
from billing.callouts.parameters import CalloutTarget, account_target, contact_target
from billing.callouts.rejections import CalloutRejected
from billing.metrics import CALLOUTS
from billing.models import SyncKind
from billing.sync import ingest
from billing.sync.queue import Callout

logger = logging.getLogger("billing.callouts")

ALLOWED_METHODS = ("GET", "POST")
# Zuora's ids for a delivery attempt and a notification are hex UUIDs; anything
# else in those headers is kept out of the audit row and the log.
HEADER_TOKEN = re.compile(r"\A[0-9A-Za-z\-]{1,64}\Z")
RETRY_AFTER_SECONDS = 60

type TargetReader = Callable[[Sequence[payload.Fields]], CalloutTarget]


@csrf_exempt
def sync_account(request: HttpRequest) -> JsonResponse:
    """Zuora says an account (or its Bill-To/Sold-To contact) may have changed."""
    return _receive(request, SyncKind.ACCOUNT, account_target)


@csrf_exempt
def sync_account_contact(request: HttpRequest) -> JsonResponse:
    """Zuora says a contact may have changed."""
    return _receive(request, SyncKind.CONTACT, contact_target)


def _receive(request: HttpRequest, kind: SyncKind, read_target: TargetReader) -> JsonResponse:
    request_id = _header_token(request, "Zuora-Request-Id")
    try:
        target = _accepted_target(request, read_target)
    except CalloutRejected as rejection:
        CALLOUTS.labels(kind=str(kind), outcome=rejection.outcome).inc()
        logger.info(
            "callout refused: kind=%s outcome=%s status=%d request_id=%s",
            kind,
            rejection.outcome,
            rejection.status,
            request_id or "-",
        )
        return _answer(rejection.status, error=rejection.error, headers=rejection.headers)

    address = authentication.source_address(request)
    try:
        ingest.writer.record(
            Callout(
                kind=target.kind,
                zuora_id=target.zuora_id,
                account_zuora_id=target.account_zuora_id,
                zuora_request_id=request_id,
                zuora_notification_id=_header_token(request, "Zuora-Notification-Id"),
                source_address=str(address) if address is not None else None,
            )
        )
    except DatabaseFailure:
        CALLOUTS.labels(kind=str(kind), outcome="database_unavailable").inc()
        # django.db.Error: OperationalError and the like, but also InterfaceError
        # (a closed connection), which is not a DatabaseError.
        logger.exception(
            "callout not recorded: kind=%s zuora_id=%s outcome=database_unavailable request_id=%s",
            kind,
            target.zuora_id,
            request_id or "-",
        )
        return _answer(
            HTTPStatus.SERVICE_UNAVAILABLE,
            error="The callout could not be recorded; it will be accepted when retried.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    CALLOUTS.labels(kind=str(kind), outcome="recorded").inc()
    logger.info(
        "callout recorded: kind=%s zuora_id=%s outcome=recorded request_id=%s",
        kind,
        target.zuora_id,
        request_id or "-",
    )
    return JsonResponse({"success": True})


def _accepted_target(request: HttpRequest, read_target: TargetReader) -> CalloutTarget:
    """Every check a callout must pass before it is recorded, cheapest first."""
    if request.method not in ALLOWED_METHODS:
        raise CalloutRejected(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"Use {' or '.join(ALLOWED_METHODS)}.",
            headers={"Allow": ", ".join(ALLOWED_METHODS)},
        )
    authentication.check_source_network(authentication.source_address(request))
    authentication.check_basic_credentials(request)
    body = payload.read_body(request, limit=settings.ZUORA_CALLOUT_MAX_BODY_BYTES)
    authentication.check_signature(request, body)
    # A GET carries its parameters in the URL; any body it has is only signed.
    body_fields = payload.body_fields(request, body) if request.method == "POST" else []
    return read_target([body_fields, payload.query_fields(request)])


def _header_token(request: HttpRequest, name: str) -> str:
    value = request.headers.get(name, "").strip()
    return value if HEADER_TOKEN.match(value) else ""


def _answer(
    status: HTTPStatus, *, error: str, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse({"success": False, "error": error}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
