"""With an HMAC secret configured, only a correct signature of the body gets a callout recorded."""

import base64
import hashlib
import hmac
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import (
    HMAC_SECRET,
    MAX_BODY_BYTES,
    VALID_AUTHORIZATIONS,
    fuzz_settings,
    recorded,
)
from tests.fuzz.raw_requests import (
    ZUORA_ID,
    RawRequest,
    assert_answered_safely,
    bodies,
    header_values,
    paths,
    send,
)

SIGNATURE_HEADER = "X-Zuora-Signature"
CALLOUT = f'{{"id": "{ZUORA_ID}"}}'.encode()


@pytest.fixture(autouse=True)
def hmac_secret(settings: Any) -> None:
    settings.ZUORA_CALLOUT_HMAC_SECRET = HMAC_SECRET
    settings.ZUORA_CALLOUT_HMAC_HEADER = SIGNATURE_HEADER


def signature(body: bytes) -> bytes:
    return hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).digest()


correct_encodings = st.sampled_from(
    [
        lambda digest: digest.hex(),
        lambda digest: digest.hex().upper(),
        lambda digest: base64.b64encode(digest).decode(),
        lambda digest: f"  {digest.hex()} ",
    ]
)
wrong_signatures = st.one_of(
    header_values,
    st.binary(min_size=32, max_size=32).map(lambda digest: digest.hex()),
    st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode()),
    st.sampled_from(
        [
            # The signature of something else, or almost the right encoding.
            hmac.new(b"other-secret", CALLOUT, hashlib.sha256).hexdigest(),
            signature(CALLOUT).hex()[:-1],
            signature(CALLOUT).hex() + "0",
            base64.b64encode(signature(CALLOUT)).decode().rstrip("="),
            base64.b64encode(signature(CALLOUT) + b"\x00").decode(),
            "sha256=" + signature(CALLOUT).hex(),
            signature(CALLOUT).hex().replace("a", "\u0430"),
        ]
    ),
)


@fuzz_settings(max_examples=400)
@given(
    path=paths,
    body=st.just(CALLOUT) | bodies,
    correct=st.booleans(),
    encoding=correct_encodings,
    wrong=st.none() | wrong_signatures,
)
def test_only_a_correct_signature_of_the_body_gets_a_callout_recorded(
    zuora: Client, path: str, body: bytes, correct: bool, encoding: Any, wrong: str | None
) -> None:
    headers = {"Authorization": VALID_AUTHORIZATIONS[0]}
    if correct:
        headers[SIGNATURE_HEADER] = encoding(signature(body))
    elif wrong is not None:
        headers[SIGNATURE_HEADER] = wrong
    request = RawRequest(path=path, body=body, content_type="application/json", headers=headers)
    before = recorded()

    response = send(zuora, request)

    assert_answered_safely(response, before=before, accepted_sender=correct)
    if not correct:
        # The size is checked before the signature.
        assert response.status_code == (413 if len(body) > MAX_BODY_BYTES else 403)
    elif body == CALLOUT:
        assert response.status_code == 200


@fuzz_settings(max_examples=100)
@given(path=paths, signature_value=st.none() | wrong_signatures | header_values)
def test_without_credentials_the_challenge_comes_before_the_signature(
    zuora: Client, path: str, signature_value: str | None
) -> None:
    headers = {SIGNATURE_HEADER: signature_value} if signature_value is not None else {}
    before = recorded()

    response = send(zuora, RawRequest(path=path, body=CALLOUT, headers=headers))

    assert_answered_safely(response, before=before, accepted_sender=False)
    assert response.status_code == 401
