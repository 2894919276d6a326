"""Arbitrary raw requests: methods, bodies, content types, charsets, sizes, credentials, headers.

Whatever arrives, the answer is a documented 4xx or a 200, never a 5xx; a 200
only with valid credentials; and a refused callout records nothing.
"""

import base64
import re

from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from billing.models import CalloutReceipt
from tests.fuzz.conftest import (
    CURRENT,
    MAX_BODY_BYTES,
    PREVIOUS,
    VALID_AUTHORIZATIONS,
    basic,
    fuzz_settings,
    is_valid_authorization,
    recorded,
)
from tests.fuzz.raw_requests import (
    ZUORA_ID,
    RawRequest,
    assert_answered_safely,
    bodies,
    content_types,
    encoded,
    header_values,
    json_texts,
    latin1,
    methods,
    paths,
    query_strings,
    remote_addrs,
    send,
    valid_authorizations,
)

# Names the object on either endpoint.
CALLOUT = f'{{"id": "{ZUORA_ID}"}}'.encode()


@fuzz_settings(max_examples=500)
@given(
    method=methods,
    path=paths,
    body=bodies,
    content_type=content_types,
    query_string=query_strings,
    authorization=st.none() | valid_authorizations,
    remote_addr=remote_addrs,
)
def test_any_method_but_get_and_post_is_refused_with_405_and_records_nothing(
    zuora: Client,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
    query_string: str,
    authorization: str | None,
    remote_addr: str,
) -> None:
    before = recorded()
    headers = {"Authorization": authorization} if authorization else {}
    request = RawRequest(
        method=method,
        path=path,
        query_string=query_string,
        body=body,
        content_type=content_type,
        headers=headers,
        remote_addr=remote_addr,
    )

    response = send(zuora, request)

    assert_answered_safely(
        response, before=before, accepted_sender=authorization is not None, method=method
    )
    if method.upper() not in ("GET", "POST"):
        assert response.status_code == 405
    elif authorization is None:
        assert response.status_code == 401


@fuzz_settings(max_examples=700)
@given(
    method=st.sampled_from(["POST", "GET"]),
    path=paths,
    body=bodies,
    content_type=content_types,
    query_string=query_strings,
    authorization=valid_authorizations,
)
def test_any_body_content_type_and_charset_with_valid_credentials_is_answered_safely(
    zuora: Client,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
    query_string: str,
    authorization: str,
) -> None:
    before = recorded()
    request = RawRequest(
        method=method,
        path=path,
        query_string=query_string,
        body=body,
        content_type=content_type,
        headers={"Authorization": authorization},
    )

    response = send(zuora, request)

    assert_answered_safely(response, before=before, accepted_sender=True, method=method)
    if response.status_code == 200:
        receipt = CalloutReceipt.objects.latest("pk")
        assert len(receipt.zuora_id) == 32
        assert receipt.zuora_id == receipt.zuora_id.lower()


@fuzz_settings(max_examples=600)
@given(
    path=paths,
    document=json_texts,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", None]
    ),
    query_string=query_strings,
)
def test_nested_duplicated_huge_or_broken_json_is_answered_safely(
    zuora: Client,
    path: str,
    document: str,
    encoding: str,
    content_type: str | None,
    query_string: str,
) -> None:
    before = recorded()
    body = encoded(document, encoding)
    request = RawRequest(
        path=path,
        query_string=query_string,
        body=body,
        content_type=content_type,
        headers={"Authorization": VALID_AUTHORIZATIONS[0]},
    )

    response = send(zuora, request)

    assert_answered_safely(response, before=before, accepted_sender=True)


@fuzz_settings(max_examples=200)
@given(
    path=paths,
    excess=st.integers(min_value=1, max_value=MAX_BODY_BYTES),
    declared=st.sampled_from(["actual", "limit", "huge", "zero-padded", "missing", "garbage"]),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]),
    authorization=st.none() | valid_authorizations,
)
def test_a_body_over_the_limit_is_refused_and_records_nothing(
    zuora: Client,
    path: str,
    excess: int,
    declared: str,
    content_type: str,
    authorization: str | None,
) -> None:
    # A valid callout padded with spaces: only its size is wrong.
    body = CALLOUT[:-1] + b" " * (MAX_BODY_BYTES - len(CALLOUT) + excess) + b"}"
    length = {
        "actual": None,
        "limit": str(MAX_BODY_BYTES),
        "huge": "9" * 40,
        "zero-padded": "0" * 30 + str(len(body)),
        "missing": "",
        "garbage": "12a",
    }[declared]
    headers = {"Authorization": authorization} if authorization else {}
    before = recorded()

    response = send(
        zuora,
        RawRequest(
            path=path, body=body, content_type=content_type, content_length=length, headers=headers
        ),
    )

    assert_answered_safely(response, before=before, accepted_sender=authorization is not None)
    if authorization is None:
        assert response.status_code == 401
    elif declared in ("actual", "huge", "zero-padded"):
        assert response.status_code == 413
    elif declared == "garbage":
        assert response.status_code == 400


authorizations = st.one_of(
    header_values,
    header_values.map(lambda token: "Basic " + token),
    st.binary(max_size=40).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
    # Credentials that are almost right: no colon, wrong pair, unicode, padding, case.
    st.sampled_from(
        [
            "Basic " + base64.b64encode(CURRENT.username.encode()).decode(),
            "Basic " + base64.b64encode(f"{CURRENT.username}{CURRENT.password}".encode()).decode(),
            basic(CURRENT.username, PREVIOUS.password),
            basic(PREVIOUS.username, CURRENT.password),
            basic(CURRENT.username.upper(), CURRENT.password),
            basic(CURRENT.username, CURRENT.password)[:-2],
            basic(CURRENT.username, CURRENT.password) + "==",
            basic(CURRENT.username, CURRENT.password) + "\x00",
            basic(CURRENT.username, CURRENT.password).replace("Basic", "Bearer"),
            basic(CURRENT.username, CURRENT.password).replace("Basic ", "Basic"),
            basic(CURRENT.username, CURRENT.password).replace("Basic ", "Digest "),
            latin1(basic("zuöra", "pässwörd").encode()),
            "Basic " + latin1(base64.b64encode("zuora:пароль".encode())),
            "Basic " + base64.urlsafe_b64encode(b"\xfb\xff:\xfe").decode(),
            "Basic =",
            "Basic",
            "",
        ]
    ),
    # Valid pairs in the forms the scheme allows: any letter case, spaces around.
    valid_authorizations,
    valid_authorizations.map(lambda value: value.replace("Basic", "bAsIc")),
    valid_authorizations.map(lambda value: f"  {value}  "),
)


@fuzz_settings(max_examples=600)
@given(
    path=paths,
    method=st.sampled_from(["POST", "GET"]),
    authorization=authorizations,
    also_signed=st.booleans(),
)
def test_only_valid_basic_credentials_get_a_callout_recorded(
    zuora: Client, path: str, method: str, authorization: str, also_signed: bool
) -> None:
    query_string = f"id={ZUORA_ID}" if method == "GET" else ""
    body = b"" if method == "GET" else CALLOUT
    headers = {"Authorization": authorization}
    if also_signed:
        headers["X-Zuora-Signature"] = "ignored-without-a-secret"
    before = recorded()

    response = send(
        zuora,
        RawRequest(
            method=method,
            path=path,
            query_string=query_string,
            body=body,
            content_type="application/json",
            headers=headers,
        ),
    )

    valid = is_valid_authorization(authorization)
    assert_answered_safely(response, before=before, accepted_sender=valid, method=method)
    assert response.status_code == (200 if valid else 401)


@fuzz_settings(max_examples=300)
@given(
    path=paths,
    request_id=header_values,
    notification_id=header_values | st.from_regex(r"\A[0-9a-f\-]{1,70}\Z"),
    log_request_id=header_values,
)
def test_odd_zuora_request_ids_are_kept_only_as_plain_tokens(
    zuora: Client, path: str, request_id: str, notification_id: str, log_request_id: str
) -> None:
    headers = {
        "Authorization": VALID_AUTHORIZATIONS[0],
        "Zuora-Request-Id": request_id,
        "Zuora-Notification-Id": notification_id,
        "X-Request-ID": log_request_id,
    }
    before = recorded()

    response = send(zuora, RawRequest(path=path, body=CALLOUT, headers=headers))

    assert_answered_safely(response, before=before, accepted_sender=True)
    assert response.status_code == 200
    receipt = CalloutReceipt.objects.latest("pk")
    assert receipt.zuora_request_id == kept_token(request_id)
    assert receipt.zuora_notification_id == kept_token(notification_id)


def kept_token(value: str) -> str:
    """What the receipt keeps of a Zuora id header: a plain token of up to 64 characters."""
    value = value.strip()
    return value if re.fullmatch(r"[0-9A-Za-z-]{1,64}", value) else ""
