"""Raw callout requests as a WSGI server hands them to Django, and what any answer must satisfy.

A WSGI server passes header values and the query string as Latin-1 text of
whatever bytes arrived, and the body as a stream of exactly the declared
length; `send` builds that environ directly, so nothing in between cleans up
the request.
"""

import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.test import Client
from hypothesis import strategies as st

from tests.fuzz.conftest import (
    ACCOUNT_URL,
    CONTACT_URL,
    VALID_AUTHORIZATIONS,
    count_request,
    recorded,
)

DOCUMENTED_STATUSES = {200, 400, 401, 403, 405, 413, 415, 503}
ZUORA_ID = "2c92c0f86a8dd422016a9e7a70116b0d"
OTHER_ZUORA_ID = "2c92c0f86a8dd422016a9e7a70a36b11"


@dataclass(frozen=True)
class RawRequest:
    """One request to a callout endpoint, byte for byte."""

    method: str = "POST"
    path: str = ACCOUNT_URL
    query_string: str = ""
    body: bytes = b""
    content_type: str | None = None
    # None: the length of the body, as any client sends it; "" leaves the header out.
    content_length: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    remote_addr: str = "127.0.0.1"


def send(client: Client, request: RawRequest) -> Any:
    """Send the request through Django's handler and return its response."""
    count_request()
    environ: dict[str, Any] = {
        "QUERY_STRING": request.query_string,
        "REMOTE_ADDR": request.remote_addr,
        "wsgi.input": io.BytesIO(request.body),
    }
    length = str(len(request.body)) if request.content_length is None else request.content_length
    if length:
        environ["CONTENT_LENGTH"] = length
    if request.content_type is not None:
        environ["CONTENT_TYPE"] = request.content_type
    for name, value in request.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    # No data: the client then adds no body, length or type of its own.
    return client.generic(request.method, request.path, b"", **environ)


def assert_answered_safely(
    response: Any, *, before: tuple[int, int], accepted_sender: bool, method: str = "POST"
) -> None:
    """No 5xx, a documented status, a 2xx only for an accepted sender, and records only on 2xx."""
    status = response.status_code
    assert status < 500, response.content
    assert status in DOCUMENTED_STATUSES, status
    receipts, pending = recorded()
    if 200 <= status < 300:
        assert accepted_sender, f"answered {status} to a sender that should be refused"
        assert receipts == before[0] + 1
        assert pending in (before[1], before[1] + 1)
    else:
        assert (receipts, pending) == before, f"a refused callout ({status}) recorded something"
    if method.upper() != "HEAD":
        assert response["Content-Type"] == "application/json"
        answer = json.loads(response.content)
        assert answer["success"] is (status == 200)
        assert status == 200 or isinstance(answer["error"], str)
    if status == 401:
        assert response["WWW-Authenticate"].startswith('Basic realm="')
    if status == 405:
        assert response["Allow"] == "GET, POST"


def latin1(raw: bytes) -> str:
    """Bytes as a WSGI server passes them in a header value or the query string."""
    return raw.decode("iso-8859-1")


paths = st.sampled_from([ACCOUNT_URL, CONTACT_URL, ACCOUNT_URL + "/", CONTACT_URL + "/"])
valid_authorizations = st.sampled_from(VALID_AUTHORIZATIONS)
zuora_ids = st.sampled_from([ZUORA_ID, OTHER_ZUORA_ID, ZUORA_ID.upper(), f"  {ZUORA_ID}\t"])
id_names = st.sampled_from(
    [
        "AccountId",
        "accountId",
        "account_id",
        "ACCOUNT-ID",
        "DataSource.Account.Id",
        "ContactId",
        "contact.id",
        "DataSource.Contact.Id",
        "Contact.AccountId",
        "DataSource.Contact.AccountId",
        "zuora_id",
        "id",
        "Id",
        "EventType",
    ]
)
# Values an id parameter may carry: ids, near-ids, unmerged templates, junk.
id_values = st.one_of(
    zuora_ids,
    st.text(alphabet="0123456789abcdefABCDEF", min_size=31, max_size=33),
    st.sampled_from(["", " ", "{{DataSource.Account.Id}}", "null", ZUORA_ID + "\x00"]),
    st.text(max_size=40),
)
json_scalars = st.one_of(
    id_values,
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**300),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_keys = id_names | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(json_keys, children, max_size=3)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(json_keys, json_values, max_size=5)


def nested(depth: int, innermost: dict[str, Any]) -> dict[str, Any]:
    """`innermost` wrapped in `depth` levels of {"DataSource": ...}-like objects."""
    document = innermost
    for _ in range(depth):
        document = {"DataSource": document}
    return document


# JSON text no encoder writes: repeated keys, huge or special numbers, raw NULs,
# lone surrogates, and documents cut short.
json_texts = st.one_of(
    json_objects.map(json.dumps),
    json_objects.map(lambda document: json.dumps(document, ensure_ascii=False)),
    st.builds(
        nested, st.integers(min_value=0, max_value=12), st.fixed_dictionaries({"Id": zuora_ids})
    ).map(json.dumps),
    st.lists(st.tuples(id_names, id_values), min_size=1, max_size=4).map(
        lambda pairs: "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"
    ),
    st.sampled_from(
        [
            '{"AccountId": 1' + "0" * 5000 + "}",
            '{"AccountId": 1e999}',
            '{"AccountId": -0.0, "id": NaN}',
            '{"AccountId": Infinity}',
            '{"AccountId": "' + ZUORA_ID + '\\u0000"}',
            '{"AccountId": "\\ud800"}',
            '{"\\ud800": "' + ZUORA_ID + '"}',
            '{"AccountId": "' + ZUORA_ID + '"',
            "[" * 5000 + "]" * 5000,
            '{"a":' * 2000 + "1" + "}" * 2000,
            '["' + ZUORA_ID + '"]',
            '"' + ZUORA_ID + '"',
            "\x00{}",
            "{}\x00",
        ]
    ),
    json_objects.map(json.dumps).flatmap(
        lambda text: st.integers(min_value=0, max_value=len(text)).map(lambda cut: text[:cut])
    ),
)
form_texts = st.lists(st.tuples(id_names | st.text(max_size=8), id_values), max_size=6).map(
    lambda pairs: "&".join(f"{name}={value}" for name, value in pairs)
) | st.sampled_from(
    [
        f"AccountId={ZUORA_ID}&AccountId={OTHER_ZUORA_ID}",
        f"AccountId={ZUORA_ID}&account_id={ZUORA_ID}",
        f"AccountId={ZUORA_ID}%00",
        f"AccountId%00={ZUORA_ID}",
        "AccountId=%FF%FE",
        "AccountId=%",
        "&&&=&=",
        "a=1&" * 150,
        f"ContactId={ZUORA_ID}&AccountId=",
    ]
)
encodings = st.sampled_from(
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"]
)


def encoded(text: str, encoding: str) -> bytes:
    """The text in the encoding: lone surrogates kept in UTF encodings (invalid bytes),
    other characters the encoding lacks replaced by '?', as lax senders do."""
    return text.encode(encoding, errors="surrogatepass" if "utf" in encoding else "replace")


text_bodies = st.builds(encoded, json_texts | form_texts, encodings)
bodies = st.one_of(
    text_bodies,
    st.binary(max_size=300),
    text_bodies.flatmap(lambda body: st.binary(max_size=4).map(lambda junk: body + junk)),
    st.sampled_from([b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf\xef\xbb\xbf{}"]),
)
charsets = st.sampled_from(
    [
        "utf-8",
        "UTF-8",
        '"utf-8"',
        "utf8",
        "us-ascii",
        "ascii",
        "latin-1",
        "iso-8859-1",
        "ISO_8859-1",
        "utf-16",
        "utf-8-sig",
        "cp1252",
        "idna",
        "",
        "nope",
        "utf-8 ",
    ]
)
media_types = st.sampled_from(
    [
        "application/json",
        "APPLICATION/JSON",
        "application/vnd.zuora+json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
        "text/xml",
        "application/octet-stream",
        "*/*",
        "",
    ]
)
header_safe_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def breaks_django_request(content_type: str | None) -> bool:
    """Whether Django fails on this Content-Type while building the request, before any view.

    See test_django_request_failures.py: RFC 2231 parameters with an unknown
    encoding or a NUL, and charsets that are not text encodings (or that fail on
    percent-encoded input) once there is a query string.
    """
    if content_type is None:
        return False
    for query_string in ("", "a=b", "a=%C3%A9&b=%ZZ", "a=\xe9"):
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": content_type,
            "QUERY_STRING": query_string,
            "wsgi.input": io.BytesIO(b""),
        }
        try:
            WSGIRequest(environ)
        except (BadRequest, SuspiciousOperation, ValueError, LookupError):
            return True
    return False


content_types = st.one_of(
    st.none(),
    media_types,
    st.builds(lambda media, charset: f"{media}; charset={charset}", media_types, charsets),
    header_safe_text,
    header_safe_text.map(lambda text: f"application/json; {text}"),
).filter(lambda content_type: not breaks_django_request(content_type))
methods = st.sampled_from(
    ["GET", "POST", "get", "post", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
) | st.from_regex(r"\A[A-Za-z]{1,12}\Z")
query_strings = st.one_of(
    st.just(""),
    st.builds(lambda name, value: f"{name}={value}", id_names, zuora_ids),
    form_texts.map(lambda text: latin1(text.encode("utf-8", errors="surrogatepass"))),
    st.binary(max_size=80).map(latin1),
)
remote_addrs = st.sampled_from(
    ["127.0.0.1", "::1", "::ffff:203.0.113.9", "fe80::1%eth0", "", "unknown", "999.1.1.1"]
)
# Header values a server can deliver: any bytes but CR and LF, read as Latin-1.
header_values = st.binary(max_size=60).map(
    lambda raw: latin1(raw.replace(b"\r", b"").replace(b"\n", b""))
)
