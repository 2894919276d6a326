"""Whatever a caller sends, the answer is never a 5xx, and only an authenticated 200 records."""

import base64
import json

from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.callouts.conftest import ACCOUNT_URL, AUTHORIZED, CONTACT_URL, basic, recorded

NAMES = ["AccountId", "account_id", "ContactId", "Contact.Id", "id", "zuora_id", "x"]
ids = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF", min_size=30, max_size=34),
    st.text(max_size=40),
    st.integers(),
    st.none(),
)
json_documents = st.recursive(
    st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=10), ids, max_size=4),
    lambda children: (
        st.dictionaries(st.text(max_size=10), children, max_size=3) | st.lists(children, max_size=3)
    ),
    max_leaves=10,
)
bodies = st.one_of(
    st.binary(max_size=512),
    json_documents.map(lambda document: json.dumps(document).encode()),
    st.dictionaries(st.sampled_from(NAMES), st.text(max_size=40), max_size=4).map(
        lambda fields: "&".join(f"{name}={value}" for name, value in fields.items()).encode(
            "utf-8", "surrogatepass"
        )
    ),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "",
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/json; charset=utf-16",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=nope",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/xml",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]) | (
    st.from_regex(r"\A[A-Z]{1,10}\Z")
)
query_strings = st.text(alphabet=st.characters(max_codepoint=255), max_size=80)
wrong_authorizations = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.text(max_size=30).map(lambda text: "Basic " + base64.b64encode(text.encode()).decode()),
    st.just(basic("zuora", "wrong")["Authorization"]),
)
urls = st.sampled_from([ACCOUNT_URL, CONTACT_URL])
remote_addrs = st.sampled_from(["127.0.0.1", "::1", "", "not an address", "fe80::1%eth0"])

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def send(client: Client, **request):
    extra = {
        "CONTENT_TYPE": request["content_type"],
        "QUERY_STRING": request["query_string"],
        "REMOTE_ADDR": request["remote_addr"],
    }
    if request.get("authorization") is not None:
        extra["HTTP_AUTHORIZATION"] = request["authorization"]
    # The content type goes into META directly, so the client does not re-encode the body.
    return client.generic(
        request["method"],
        request["url"],
        request["body"],
        content_type="application/octet-stream",
        **extra,
    )


@FUZZ
@given(
    method=methods,
    url=urls,
    body=bodies,
    content_type=content_types,
    query_string=query_strings,
    authorization=wrong_authorizations,
    remote_addr=remote_addrs,
)
def test_without_valid_credentials_nothing_is_recorded_and_nothing_fails(
    zuora: Client, **request
) -> None:
    response = send(zuora, **request)

    assert response.status_code in (401, 405)
    assert recorded() == (0, 0)


@FUZZ
@given(
    method=methods,
    url=urls,
    body=bodies,
    content_type=content_types,
    query_string=query_strings,
    remote_addr=remote_addrs,
)
def test_with_valid_credentials_any_request_is_recorded_or_refused_with_a_4xx(
    zuora: Client, **request
) -> None:
    before = recorded()

    response = send(zuora, authorization=AUTHORIZED["Authorization"], **request)

    receipts, pending = recorded()
    if response.status_code == 200:
        assert receipts == before[0] + 1
        assert pending >= before[1]
    else:
        assert 400 <= response.status_code < 500, response.content
        assert (receipts, pending) == before
