"""Requests generated from docs/openapi.yaml, sent through the WSGI application.

Schemathesis generates valid and invalid query strings, JSON and form bodies
and headers for every operation of the spec; each request goes with valid,
wrong, garbage or no credentials. Whatever is sent: no 5xx, a 2xx only with
valid credentials, nothing recorded unless answered 2xx, and every answer as
the spec documents it (status, content type, headers, JSON body).
"""

import base64
from collections.abc import Iterable
from typing import Any

import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import (
    CURRENT,
    PREVIOUS,
    SPEC,
    VALID_AUTHORIZATIONS,
    basic,
    count_request,
    fuzz_settings,
    is_valid_authorization,
    recorded,
)

# Values any HTTP client can put in a header: Latin-1 text without control
# characters or surrounding whitespace (test_raw_requests.py sends the rest).
header_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_categories=("Cc",)), max_size=40
).map(str.strip)
wrong_authorizations = st.one_of(
    st.just(basic(CURRENT.username, "wrong-password")),
    st.just(basic(PREVIOUS.username, CURRENT.password)),
    st.just(basic(CURRENT.username, CURRENT.password + " ")),
    st.just(basic(CURRENT.username, "")),
    header_text,
    header_text.map(lambda token: f"Basic {token}".strip()),
    st.binary(max_size=40).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
)


class RecordingApplication:
    """A WSGI application that remembers the environ of the last request it served.

    The checks judge the credentials the view actually received, not the ones
    the test meant to send (Schemathesis may drop or replace the header).
    """

    def __init__(self, application: Any) -> None:
        self.application = application
        self.last_environ: dict[str, Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.last_environ = environ
        count_request()
        return self.application(environ, start_response)


application = RecordingApplication(get_wsgi_application())
schema = schemathesis.openapi.from_path(SPEC)
schema.app = application
# Extra strategies (`given`) cannot be combined with the spec's examples; those
# are sent by the test with valid credentials.
schema_without_examples = schemathesis.openapi.from_path(
    SPEC, config=schemathesis.Config.from_dict({"phases": {"examples": {"enabled": False}}})
)
schema_without_examples.app = application


@schemathesis.check
def success_only_with_valid_credentials(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    if 200 <= response.status_code < 300:
        sent = application.last_environ.get("HTTP_AUTHORIZATION")
        assert is_valid_authorization(sent), f"{response.status_code} with Authorization {sent!r}"


CHECKS = [
    not_a_server_error,
    success_only_with_valid_credentials,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def send_and_check(case: schemathesis.Case, headers: dict[str, str]) -> None:
    before = recorded()

    response = case.call(headers=headers)

    case.validate_response(response, checks=CHECKS)
    if not 200 <= response.status_code < 300:
        assert recorded() == before


@schema.parametrize()
@fuzz_settings(max_examples=150)
def test_spec_requests_with_valid_credentials(
    case: schemathesis.Case, in_test_transaction: None
) -> None:
    send_and_check(case, {"Authorization": VALID_AUTHORIZATIONS[0]})


@schema_without_examples.parametrize()
@schema_without_examples.given(authorization=st.none() | wrong_authorizations)
@fuzz_settings(max_examples=150)
def test_spec_requests_with_wrong_or_no_credentials(
    case: schemathesis.Case, authorization: str | None, in_test_transaction: None
) -> None:
    # None sends whatever Schemathesis generated: usually no Authorization header.
    send_and_check(case, {"Authorization": authorization} if authorization is not None else {})
