"""Request correlation: every log line of a request carries its request id."""

import re
import secrets
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

# A caller-supplied id is kept only when it is a short, plain token.
REQUEST_ID = re.compile(r"\A[A-Za-z0-9._\-]{1,64}\Z")


class RequestIdMiddleware:
    """Bind `request_id` (from X-Request-ID, or a new one) to the logging context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if REQUEST_ID.match(supplied) else secrets.token_hex(8)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response["X-Request-ID"] = request_id
        return response
