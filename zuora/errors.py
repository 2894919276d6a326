"""Errors the sync can act on, and their mapping from Zuora's statuses and reason codes.

Mapping is done on HTTP statuses and the 8-digit reason codes only; Zuora's
messages are free text (and may quote request data), so they are kept on the
exception for debugging but never parsed and never put into ``str(error)``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any, ClassVar


class ZuoraError(Exception):
    """Base class: ``retryable`` says whether trying again may help, ``retry_after`` when."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        codes: tuple[int, ...] = (),
        reasons: tuple[tuple[int | None, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.codes = codes
        # (code, message) pairs as Zuora sent them; may contain request data.
        self.reasons = reasons


class ZuoraNotFound(ZuoraError):
    """The object does not exist in Zuora (404 or a category-40 reason code)."""


class ZuoraRateLimited(ZuoraError):
    """Zuora's rate or concurrency limit was hit; wait ``retry_after`` seconds if given."""

    retryable = True


class ZuoraTransientError(ZuoraError):
    """A 5xx, timeout or connection error: the same request may succeed later."""

    retryable = True


class ZuoraPermanentError(ZuoraError):
    """A 4xx (other than 401/404/429): the request itself is wrong and will fail again."""


class ZuoraAuthenticationError(ZuoraError):
    """The credentials or token were refused, even after fetching a fresh token."""


class ZuoraResponseError(ZuoraPermanentError):
    """Zuora answered with JSON we cannot use; ``field`` names the offending field."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


# Last two digits of an 8-digit reason code.
_CATEGORY_ERRORS: dict[int, type[ZuoraError]] = {
    10: ZuoraPermanentError,  # permission denied
    11: ZuoraAuthenticationError,
    20: ZuoraPermanentError,  # invalid format or value
    21: ZuoraPermanentError,  # unknown field
    22: ZuoraPermanentError,  # missing required field
    23: ZuoraPermanentError,  # missing query parameter
    27: ZuoraPermanentError,  # invalid Object Query parameter
    30: ZuoraPermanentError,  # business rule restriction
    40: ZuoraNotFound,
    45: ZuoraPermanentError,  # unsupported method
    50: ZuoraTransientError,  # locking contention
    # 60 is an internal error that Zuora advises retrying "a few times only";
    # our bounded attempts make that so.
    60: ZuoraTransientError,
    61: ZuoraTransientError,  # temporary error
    70: ZuoraRateLimited,  # concurrency limit
    90: ZuoraPermanentError,  # malformed JSON
    99: ZuoraTransientError,  # integration error (gateway, tax)
}

# When one response carries several reasons, the first class in this order
# wins: an error that retrying cannot fix beats one that it could.
_PRECEDENCE: tuple[type[ZuoraError], ...] = (
    ZuoraAuthenticationError,
    ZuoraNotFound,
    ZuoraPermanentError,
    ZuoraRateLimited,
    ZuoraTransientError,
)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - time.time())


def reason_codes(body: object) -> tuple[tuple[int | None, str], ...]:
    """The ``(code, message)`` pairs of a v1 or Object Query error body (codes may be strings)."""
    if not isinstance(body, Mapping):
        return ()
    reasons = body.get("reasons")
    if not isinstance(reasons, list):
        # CRUD and Actions bodies: {"Success": false, "Errors": [{"Code", "Message"}]}
        reasons = body.get("Errors")
    if not isinstance(reasons, list):
        return ()
    pairs: list[tuple[int | None, str]] = []
    for reason in reasons:
        if not isinstance(reason, Mapping):
            continue
        raw_code = reason.get("code", reason.get("Code"))
        message = reason.get("message", reason.get("Message"))
        pairs.append((_as_code(raw_code), message if isinstance(message, str) else ""))
    return tuple(pairs)


def _as_code(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _class_from_codes(codes: tuple[int, ...]) -> type[ZuoraError] | None:
    found = {_CATEGORY_ERRORS.get(code % 100) for code in codes if code >= 10_000_000}
    for error_class in _PRECEDENCE:
        if error_class in found:
            return error_class
    return None


def is_failure_body(body: object) -> bool:
    """True for a 2xx body that is really an error (v1 before 2024-05-20: ``success: false``)."""
    if not isinstance(body, Mapping):
        return False
    return body.get("success") is False or body.get("Success") is False


def _class_from_status(status: int, codes: tuple[int, ...]) -> type[ZuoraError]:
    if status == 401:
        return ZuoraAuthenticationError
    if status == 404:
        return ZuoraNotFound
    if status == 429:
        return ZuoraRateLimited
    if status == 408 or status >= 500:
        return ZuoraTransientError
    # A 409 is locking contention (category 50) unless the codes say otherwise,
    # e.g. an idempotency conflict; trust the codes when they are specific.
    by_code = _class_from_codes(codes)
    if status == 409 and by_code in (None, ZuoraTransientError):
        return ZuoraTransientError
    if by_code in (ZuoraNotFound, ZuoraAuthenticationError, ZuoraRateLimited):
        return by_code
    return ZuoraPermanentError


def error_from_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: object,
    method: str,
    path_template: str,
) -> ZuoraError:
    """Build the error for a non-2xx response, or a 2xx one whose body says ``success: false``."""
    headers = {name.lower(): value for name, value in headers.items()}
    reasons = reason_codes(body)
    codes = tuple(code for code, _ in reasons if code is not None)
    if 200 <= status < 300:
        error_class = _class_from_codes(codes) or ZuoraPermanentError
    else:
        error_class = _class_from_status(status, codes)
    request_id = headers.get("zuora-request-id")
    if request_id is None and isinstance(body, Mapping):
        body_request_id = body.get("requestId")
        request_id = body_request_id if isinstance(body_request_id, str) else None
    retry_after = None
    if error_class.retryable:
        retry_after = parse_retry_after(headers.get("retry-after"))
    code_text = f" codes {','.join(str(c) for c in codes)}" if codes else ""
    id_text = f" request id {request_id}" if request_id else ""
    message = f"{method} {path_template} -> HTTP {status}{code_text}{id_text}"
    return error_class(
        message,
        status=status,
        request_id=request_id,
        retry_after=retry_after,
        codes=codes,
        reasons=reasons,
    )
