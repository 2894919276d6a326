"""Mapping Zuora's statuses and reason codes to the errors the sync acts on."""

import email.utils
import time

import pytest

from zuora import (
    ZuoraAuthenticationError,
    ZuoraError,
    ZuoraNotFound,
    ZuoraPermanentError,
    ZuoraRateLimited,
    ZuoraResponseError,
    ZuoraTransientError,
)
from zuora.errors import error_from_response, is_failure_body, parse_retry_after


def _error(status, body=None, headers=None):
    return error_from_response(
        status=status,
        headers=headers or {},
        body=body,
        method="GET",
        path_template="/object-query/accounts/{key}",
    )


def _object_query_body(code):
    return {"reasons": [{"code": code, "message": "anything"}], "requestId": "req-1"}


def _v1_body(code):
    return {"success": False, "processId": "ABC", "reasons": [{"code": code, "message": "x"}]}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, ZuoraPermanentError),
        (401, ZuoraAuthenticationError),
        (403, ZuoraPermanentError),
        (404, ZuoraNotFound),
        (405, ZuoraPermanentError),
        (408, ZuoraTransientError),
        (409, ZuoraTransientError),
        (422, ZuoraPermanentError),
        (429, ZuoraRateLimited),
        (500, ZuoraTransientError),
        (502, ZuoraTransientError),
        (503, ZuoraTransientError),
        (504, ZuoraTransientError),
    ],
)
def test_http_status_maps_to_error_class(status, expected):
    assert type(_error(status)) is expected


def test_object_query_not_found_keeps_code_and_request_id():
    error = _error(404, _object_query_body(50000040))

    assert isinstance(error, ZuoraNotFound)
    assert error.codes == (50000040,)
    assert error.request_id == "req-1"
    assert error.status == 404
    assert not error.retryable


def test_401_body_without_reasons_is_an_authentication_error():
    error = _error(401, {"message": "Authentication error"})

    assert isinstance(error, ZuoraAuthenticationError)
    assert not error.retryable


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (50000040, ZuoraNotFound),
        ("50000040", ZuoraNotFound),
        (90000011, ZuoraAuthenticationError),
        (53100370, ZuoraRateLimited),
        (53100350, ZuoraTransientError),
        (53100361, ZuoraTransientError),
        (53100399, ZuoraTransientError),
        (53100320, ZuoraPermanentError),
        (53100321, ZuoraPermanentError),
        (53100322, ZuoraPermanentError),
        (53100323, ZuoraPermanentError),
        (53100327, ZuoraPermanentError),
        (53100330, ZuoraPermanentError),
        (53100390, ZuoraPermanentError),
        (53100310, ZuoraPermanentError),
    ],
)
def test_v1_failure_at_http_200_maps_by_reason_category(code, expected):
    error = _error(200, _v1_body(code))

    assert type(error) is expected


def test_v1_failure_without_codes_is_permanent():
    assert type(_error(200, {"success": False})) is ZuoraPermanentError


def test_permanent_reason_wins_over_transient_one():
    body = {"success": False, "reasons": [{"code": 53100361}, {"code": 53100320}]}

    assert type(_error(200, body)) is ZuoraPermanentError


def test_not_found_reason_on_an_odd_status_is_still_not_found():
    assert type(_error(400, _object_query_body(50000040))) is ZuoraNotFound


def test_429_carries_retry_after_seconds():
    error = _error(429, _object_query_body(50000070), {"Retry-After": "7"})

    assert isinstance(error, ZuoraRateLimited)
    assert error.retryable
    assert error.retry_after == 7.0


def test_429_without_retry_after_leaves_the_wait_to_backoff():
    error = _error(429, None, {"ratelimit-remaining": "0"})

    assert isinstance(error, ZuoraRateLimited)
    assert error.retry_after is None


def test_503_retry_after_is_honoured_too():
    assert _error(503, None, {"retry-after": "2"}).retry_after == 2.0


def test_concurrency_limit_at_http_200_is_rate_limited_with_its_wait():
    error = _error(200, _v1_body(50000070), {"Retry-After": "3"})

    assert isinstance(error, ZuoraRateLimited)
    assert error.retry_after == 3.0


def test_request_id_header_wins_over_body():
    error = _error(404, _object_query_body(50000040), {"Zuora-Request-Id": "hdr-1"})

    assert error.request_id == "hdr-1"


def test_message_names_path_template_and_codes_but_not_zuoras_text():
    body = {"reasons": [{"code": 50000040, "message": "No contact ada@example.com"}]}

    error = _error(404, body)

    assert "/object-query/accounts/{key}" in str(error)
    assert "50000040" in str(error)
    assert "ada@example.com" not in str(error)
    assert error.reasons == ((50000040, "No contact ada@example.com"),)


def test_crud_error_shape_is_read():
    body = {"Success": False, "Errors": [{"Code": "50000040", "Message": "x"}]}

    assert is_failure_body(body)
    assert type(_error(200, body)) is ZuoraNotFound


def test_object_query_success_body_is_not_a_failure():
    assert not is_failure_body({"id": "a", "success": True})
    assert not is_failure_body({"data": []})


def test_hierarchy_lets_callers_catch_broadly():
    assert issubclass(ZuoraResponseError, ZuoraPermanentError)
    for cls in (ZuoraNotFound, ZuoraRateLimited, ZuoraTransientError, ZuoraAuthenticationError):
        assert issubclass(cls, ZuoraError)
    assert ZuoraRateLimited.retryable
    assert ZuoraTransientError.retryable
    assert not ZuoraPermanentError.retryable


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("5", 5.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None)],
)
def test_retry_after_in_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_as_http_date():
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)

    wait = parse_retry_after(in_a_minute)

    assert wait is not None
    assert 50 < wait <= 61
