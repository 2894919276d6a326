"""Callouts that can never succeed get a 4xx saying why, and nothing is recorded."""

import json

import pytest
from django.test import AsyncRequestFactory, Client
from django.test.client import FakePayload

from billing.callouts import views
from tests.callouts.conftest import (
    ACCOUNT_URL,
    AUTHORIZED,
    CONTACT_URL,
    post_form,
    post_json,
    recorded,
)
from tests.factories import zuora_id


def send(client: Client, body: bytes | str, content_type: str, url: str = ACCOUNT_URL):
    return client.post(url, body, content_type=content_type, headers=AUTHORIZED)


def assert_refused(response, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    answer = json.loads(response.content)
    assert answer["success"] is False
    assert recorded() == (0, 0)
    return answer["error"]


@pytest.mark.parametrize(("url", "names"), [(ACCOUNT_URL, "AccountId"), (CONTACT_URL, "ContactId")])
def test_missing_id_is_refused_naming_the_accepted_parameters(
    zuora: Client, url: str, names: str
) -> None:
    response = post_json(zuora, url, {"Something": zuora_id()}, **AUTHORIZED)

    error = assert_refused(response, 400)
    assert names in error
    assert "zuora_id or id" in error


def test_callout_without_any_parameters_is_refused(zuora: Client) -> None:
    assert_refused(zuora.get(ACCOUNT_URL, headers=AUTHORIZED), 400)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "a" * 31,
        "a" * 33,
        "g" * 32,
        "0123456789abcdef 123456789abcdef",
        "{{DataSource.Account.Id}}",
        "\uff41" * 32,  # full-width "a": not ASCII hex
        "x" * 5000,
    ],
)
def test_malformed_id_is_refused(zuora: Client, value: str) -> None:
    response = post_json(zuora, ACCOUNT_URL, {"AccountId": value}, **AUTHORIZED)

    error = assert_refused(response, 400)
    assert "'AccountId'" in error
    assert len(error) < 400


@pytest.mark.parametrize("value", [12345678901234567890, None, True, ["a" * 32]])
def test_id_that_is_not_a_json_string_is_refused(zuora: Client, value: object) -> None:
    response = post_json(zuora, ACCOUNT_URL, {"AccountId": value}, **AUTHORIZED)

    assert "must be a string" in assert_refused(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        '{"AccountId": ',
        "{'AccountId': 'a'}",
        f'{{"AccountId": "{"a" * 32}"}} trailing',
        f'{{"AccountId": "{"a" * 32}", "n": {"9" * 5000}}}',
    ],
    ids=["truncated", "single-quotes", "trailing-text", "huge-number"],
)
def test_invalid_json_is_refused(zuora: Client, body: str) -> None:
    assert "not valid JSON" in assert_refused(send(zuora, body, "application/json"), 400)


@pytest.mark.parametrize("document", [[{"AccountId": "a" * 32}], "a" * 32, 42, None])
def test_json_that_is_not_an_object_is_refused(zuora: Client, document: object) -> None:
    response = post_json(zuora, ACCOUNT_URL, document, **AUTHORIZED)

    assert "must be an object" in assert_refused(response, 400)


@pytest.mark.parametrize(
    "body",
    ["[" * 8000 + "]" * 8000, '{"a":' * 2500 + '"x"' + "}" * 2500],
    ids=["arrays", "objects"],
)
def test_deeply_nested_json_is_refused(zuora: Client, body: str) -> None:
    assert_refused(send(zuora, body, "application/json"), 400)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"AccountId": "\xff%s"}' % (b"a" * 31), "application/json"),
        (b"AccountId=" + b"a" * 32 + b"&Name=M\xfcller", "application/x-www-form-urlencoded"),
        (b"AccountId=" + b"a" * 32 + b"&Name=M%FCller", "application/x-www-form-urlencoded"),
        (b'{"AccountId": "%s"}' % (b"a" * 32) + b"\x80", "text/plain"),
    ],
    ids=["json", "form-raw", "form-percent-encoded", "undeclared"],
)
def test_body_that_is_not_utf8_is_refused(zuora: Client, body: bytes, content_type: str) -> None:
    assert "not valid utf-8" in assert_refused(send(zuora, body, content_type), 400)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "text/xml",
        "text/html",
        "application/octet-stream",
        "application/jsonp",
    ],
)
def test_unsupported_content_type_is_refused_with_415(zuora: Client, content_type: str) -> None:
    body = json.dumps({"AccountId": zuora_id()})

    error = assert_refused(send(zuora, body, content_type), 415)
    assert "application/json" in error


@pytest.mark.parametrize("charset", ["utf-16", "klingon", "rot13", "base64", "idna"])
def test_unsupported_charset_is_refused_with_415(zuora: Client, charset: str) -> None:
    body = json.dumps({"AccountId": zuora_id()})

    # CONTENT_TYPE set directly: the test client would try to encode in the charset.
    response = zuora.post(
        ACCOUNT_URL,
        body,
        content_type="application/json",
        headers=AUTHORIZED,
        CONTENT_TYPE=f"application/json; charset={charset}",
    )

    assert "UTF-8" in assert_refused(response, 415)


def test_content_type_of_an_empty_body_does_not_matter(zuora: Client) -> None:
    account_id = zuora_id()

    response = zuora.post(
        f"{ACCOUNT_URL}?AccountId={account_id}",
        b"",
        content_type="application/xml",
        headers=AUTHORIZED,
    )

    assert response.status_code == 200


def test_body_over_the_limit_is_refused_from_its_content_length(zuora: Client, settings) -> None:
    settings.ZUORA_CALLOUT_MAX_BODY_BYTES = 1024
    body = json.dumps({"AccountId": zuora_id(), "padding": "x" * 1024})

    error = assert_refused(send(zuora, body, "application/json"), 413)
    assert "1024 bytes" in error


def test_body_at_the_limit_is_accepted(zuora: Client, settings) -> None:
    settings.ZUORA_CALLOUT_MAX_BODY_BYTES = 1024
    prefix = json.dumps({"AccountId": zuora_id(), "padding": ""})[:-2]
    body = prefix + "x" * (1024 - len(prefix) - 2) + '"}'
    assert len(body) == 1024

    assert send(zuora, body, "application/json").status_code == 200


def test_body_over_the_limit_without_content_length_is_refused_unread(db, settings) -> None:
    # An ASGI server may pass a body of unannounced length; the view reads one
    # byte past the limit and no further.
    settings.ZUORA_CALLOUT_MAX_BODY_BYTES = 1024
    body = json.dumps({"AccountId": zuora_id(), "padding": "x" * 5000}).encode()
    request = AsyncRequestFactory().request(
        method="POST",
        path=ACCOUNT_URL,
        headers=[
            (b"content-type", b"application/json"),
            (b"authorization", AUTHORIZED["Authorization"].encode()),
        ],
        _body_file=FakePayload(body),
    )
    assert "CONTENT_LENGTH" not in request.META

    response = views.sync_account(request)

    assert_refused(response, 413)
    assert len(request.read()) == len(body) - 1025


@pytest.mark.parametrize("declared", ["abc", "-1", "1e3", "²"])
def test_content_length_that_is_not_a_number_is_refused(zuora: Client, declared: str) -> None:
    response = zuora.post(
        ACCOUNT_URL,
        json.dumps({"AccountId": zuora_id()}),
        content_type="application/json",
        headers=AUTHORIZED,
        CONTENT_LENGTH=declared,
    )

    assert "Content-Length" in assert_refused(response, 400)


def test_form_with_too_many_fields_is_refused(zuora: Client) -> None:
    fields = {f"f{n}": "x" for n in range(200)} | {"AccountId": zuora_id()}

    assert "more than 100 fields" in assert_refused(
        post_form(zuora, ACCOUNT_URL, fields, headers=AUTHORIZED), 400
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"])
@pytest.mark.parametrize("url", [ACCOUNT_URL, CONTACT_URL])
def test_other_methods_are_refused_with_405_and_allow(zuora: Client, url: str, method: str) -> None:
    response = zuora.generic(
        method,
        url,
        json.dumps({"AccountId": zuora_id(), "ContactId": zuora_id()}),
        content_type="application/json",
        headers=AUTHORIZED,
    )

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert recorded() == (0, 0)
