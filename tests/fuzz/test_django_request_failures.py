"""Content types Django 6.1 fails on while building the request, before any view runs.

`WSGIRequest.__init__` (and `ASGIRequest`'s) raises on these, which would be a
500 whatever the URL. The WSGI and ASGI entry points wrap Django's handler
(`config/request_guard.py`) so that such a request gets a 400 and nothing is
recorded. The other fuzz tests go through Django's test client, which has no
such wrapper, so they leave these content types out (`breaks_django_request`).
"""

import asyncio
import io
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application

from config.request_guard import GuardedASGIHandler, guard_wsgi
from tests.fuzz.conftest import VALID_AUTHORIZATIONS, recorded
from tests.fuzz.raw_requests import ZUORA_ID, breaks_django_request

CASES = [
    pytest.param("application/json; charset*=bogus''utf-8", "", id="rfc2231-unknown-encoding"),
    pytest.param("application/json; charset*=utf-8''utf-8%00", "", id="rfc2231-nul"),
    pytest.param("text/plain; charset=rot13", f"id={ZUORA_ID}", id="non-text-codec"),
    pytest.param("text/plain; charset=base64", f"id={ZUORA_ID}", id="bytes-codec"),
    pytest.param("text/plain; charset=idna", f"id={ZUORA_ID}%20", id="idna-percent"),
]
PATH = "/api/v1/zuora/callouts/sync_account"


@pytest.mark.django_db
@pytest.mark.parametrize(("content_type", "query_string"), CASES)
def test_the_wsgi_entry_point_refuses_an_unreadable_content_type_with_400(
    content_type: str, query_string: str
) -> None:
    assert breaks_django_request(content_type)
    application = guard_wsgi(get_wsgi_application())
    statuses = []
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "QUERY_STRING": query_string,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": "2",
        "HTTP_AUTHORIZATION": VALID_AUTHORIZATIONS[0],
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(b"{}"),
        "wsgi.url_scheme": "http",
    }

    body = b"".join(application(environ, lambda status, headers: statuses.append(status)))

    assert statuses == ["400 Bad Request"]
    assert b'"success": false' in body
    assert recorded() == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(("content_type", "query_string"), CASES)
def test_the_asgi_entry_point_refuses_an_unreadable_content_type_with_400(
    content_type: str, query_string: str
) -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": PATH,
        "query_string": query_string.encode(),
        "server": ("localhost", 80),
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", content_type.encode()),
            (b"authorization", VALID_AUTHORIZATIONS[0].encode()),
        ],
    }
    sent: list[dict[str, Any]] = []
    bodies = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(GuardedASGIHandler()(scope, receive, send))

    # Refused by the guard (400) or, where ASGI builds the request lazily, by
    # the view's charset check (415): a client error either way.
    assert sent[0]["status"] in (400, 415)
    assert recorded() == (0, 0)


def test_ordinary_requests_pass_through_the_guard_untouched() -> None:
    calls = []

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(environ["CONTENT_TYPE"])
        return [b"ok"]

    guarded = guard_wsgi(inner)
    for content_type in ("application/json", "application/json; charset=utf-8"):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": PATH,
            "QUERY_STRING": "a=b",
            "CONTENT_TYPE": content_type,
            "wsgi.input": io.BytesIO(b""),
        }
        assert guarded(environ, lambda *a: None) == [b"ok"]
    assert calls == ["application/json", "application/json; charset=utf-8"]
