"""Reading a callout's fields from its body and query string, within fixed limits.

Zuora sends its callout parameters as a JSON body, a form-encoded body or a
query string, depending on how the callout template is configured; this module
turns any of them into a list of (name, value) fields, and refuses bodies it
cannot read with the status that says why.
"""

import codecs
import json
import re
from http import HTTPStatus
from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest

from billing.callouts.rejections import CalloutRejected

type Fields = list[tuple[str, object]]

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
# A body without a content type, or declared as plain text, is read as JSON
# when it starts like a JSON object or array, and as form fields otherwise.
UNDECLARED_TYPES = frozenset({"", "text/plain"})
# Charset names as `codecs.lookup()` spells them, mapped to the codec used.
# UTF-8 tolerates a byte-order mark, which some senders put before JSON.
CHARSETS = {"utf-8": "utf-8-sig", "ascii": "ascii", "iso8859-1": "iso8859-1"}
MAX_FIELDS = 100
MAX_JSON_DEPTH = 8
LOOKS_LIKE_JSON = re.compile(r"\A\s*[\[{]")
DIGITS = re.compile(r"\A[0-9]+\Z")


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes; reads at most one byte past the limit."""
    declared = str(request.META.get("CONTENT_LENGTH") or "").strip()
    if declared:
        if not DIGITS.match(declared):
            raise CalloutRejected(
                HTTPStatus.BAD_REQUEST, "bad_length", "The Content-Length header is not a number."
            )
        if len(declared.lstrip("0")) > len(str(limit)) or int(declared) > limit:
            raise _too_large(limit)
    # The declared length may be absent or wrong: read one byte past the limit
    # to tell a body at the limit from one over it.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise _too_large(limit)
    return body


def body_fields(request: HttpRequest, body: bytes) -> Fields:
    """The fields of a POST body: a JSON object (nested objects dotted) or form fields."""
    if not body:
        return []
    media_type = request.content_type.strip().lower()
    declared_json = media_type == JSON_TYPE or media_type.endswith("+json")
    if not declared_json and media_type != FORM_TYPE and media_type not in UNDECLARED_TYPES:
        raise CalloutRejected(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"Content-Type {request.content_type[:100]!r} is not supported; send "
            f"{JSON_TYPE}, {FORM_TYPE}, or the parameters in the query string.",
        )
    codec = _codec(request.content_params.get("charset", "utf-8"))
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST,
            "undecodable",
            f"The body is not valid {codec.removesuffix('-sig')} text.",
        ) from None
    if declared_json or (media_type in UNDECLARED_TYPES and LOOKS_LIKE_JSON.match(text)):
        return _json_fields(text)
    return _form_fields(text, codec.removesuffix("-sig"))


def query_fields(request: HttpRequest) -> Fields:
    """The fields of the URL's query string."""
    try:
        return [(name, value) for name, values in request.GET.lists() for value in values]
    except TooManyFieldsSent:
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST, "too_many_fields", "The query string has too many parameters."
        ) from None


def _codec(charset: str) -> str:
    try:
        name = codecs.lookup(charset.strip().strip('"')).name
    except LookupError:
        name = ""
    if name not in CHARSETS:
        raise CalloutRejected(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_charset",
            f"Charset {charset[:40]!r} is not supported; send UTF-8.",
        )
    return CHARSETS[name]


def _json_fields(text: str) -> Fields:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and numbers too long to convert.
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST, "bad_json", "The body is not valid JSON."
        ) from None
    if not isinstance(document, dict):
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST,
            "bad_json",
            'The JSON body must be an object, such as {"AccountId": "..."}.',
        )
    return _flatten(document)


def _flatten(document: dict[str, object]) -> Fields:
    # {"Account": {"Id": "..."}} gives the field "Account.Id", like the merge
    # field of the same name. Iterative, so deep nesting cannot recurse.
    fields: Fields = []
    stack: list[tuple[str, dict[str, object], int]] = [("", document, 1)]
    while stack:
        prefix, mapping, depth = stack.pop()
        for key, value in mapping.items():
            if isinstance(value, dict):
                if depth < MAX_JSON_DEPTH:
                    stack.append((f"{prefix}{key}.", value, depth + 1))
            else:
                fields.append((f"{prefix}{key}", value))
    return fields


def _form_fields(text: str, encoding: str) -> Fields:
    try:
        return list(
            parse_qsl(
                text,
                keep_blank_values=True,
                encoding=encoding,
                errors="strict",
                max_num_fields=MAX_FIELDS,
            )
        )
    except UnicodeDecodeError:
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST,
            "undecodable",
            f"A percent-encoded form field is not valid {encoding} text.",
        ) from None
    except ValueError:
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST,
            "too_many_fields",
            f"The form body has more than {MAX_FIELDS} fields.",
        ) from None


def _too_large(limit: int) -> CalloutRejected:
    return CalloutRejected(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "too_large",
        f"The body is larger than {limit} bytes; a callout needs only the object's id.",
    )
