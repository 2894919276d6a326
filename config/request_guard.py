"""Answer 400, not 500, to requests Django cannot even build.

Django 6.1 raises while constructing the request object (before any
middleware or view) for a few malformed Content-Type headers: an RFC 2231
charset with an unknown encoding or a NUL, or a charset that is not a text
encoding (rot13, base64, …) together with a query string. Such input comes
from the client, so it gets a 400.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponseBadRequest

UNREADABLE = (BadRequest, SuspiciousOperation, ValueError, LookupError)
BODY = json.dumps(
    {"success": False, "error": "The Content-Type header cannot be read; send a plain charset."}
).encode()

type WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def guard_wsgi(application: WSGIApp) -> WSGIApp:
    """Wrap a WSGI application so that an unreadable Content-Type gets a 400."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Only a charset parameter can trip Django; other requests pass untouched.
        if "charset" in environ.get("CONTENT_TYPE", "").lower():
            try:
                WSGIRequest(environ)  # reads no body: that stays for the real request
            except UNREADABLE:
                start_response(
                    "400 Bad Request",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))],
                )
                return [BODY]
        return application(environ, start_response)

    return guarded


class GuardedASGIHandler(ASGIHandler):
    """Django's ASGI handler, answering 400 to requests it cannot build."""

    def create_request(self, scope, body_file):  # type: ignore[no-untyped-def]
        try:
            request, error_response = super().create_request(scope, body_file)
            if request is not None:
                request.GET  # noqa: B018  (parsed now, as WSGIRequest does, to fail here)
        except UNREADABLE:
            return None, HttpResponseBadRequest(BODY, content_type="application/json")
        return request, error_response
