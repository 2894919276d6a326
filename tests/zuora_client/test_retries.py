"""Retries against the emulator's injected faults: 429, 5xx, resets, timeouts, deadlines."""

import time

import pytest

from tests.zuora_client.emulated_zuora import ACCOUNT_ROUTE, create_account
from zuora import ZuoraPermanentError, ZuoraRateLimited, ZuoraTransientError


@pytest.fixture
def account(emulator):
    return create_account(emulator)


def _script(emulator, fault, times, **extra):
    emulator.set_faults(script=[{"fault": fault, "times": times, "path": "/object-query", **extra}])


def test_429_is_retried_after_the_wait_zuora_asked_for(emulator, client, account):
    emulator.set_faults(retry_after=1)
    _script(emulator, "rate_limit", 1)

    started = time.monotonic()
    assert client.get_account(account.id).id == account.id
    waited = time.monotonic() - started

    # Our own backoff is at most 0.05 s here, so only Retry-After explains this.
    assert waited >= 0.9
    counts = client.call_counts()
    assert counts[("get_account", "429")] == 1
    assert counts[("get_account", "200")] == 1


def test_429_without_retry_after_backs_off_exponentially(emulator, client, account):
    emulator.set_faults(retry_after_header=False)
    _script(emulator, "rate_limit", 2)

    assert client.get_account(account.id).id == account.id
    assert client.call_counts()[("get_account", "429")] == 2


def test_429_asking_for_more_than_the_deadline_goes_back_to_the_caller(
    emulator, make_client, account
):
    client = make_client(retry_deadline=2.0)
    emulator.set_faults(retry_after=30)
    _script(emulator, "rate_limit", 1)

    with pytest.raises(ZuoraRateLimited) as caught:
        client.get_account(account.id)

    assert caught.value.retryable
    assert caught.value.retry_after == 30.0
    assert emulator.request_count(ACCOUNT_ROUTE) == 1


def test_5xx_is_retried_until_it_succeeds(emulator, client, account):
    _script(emulator, "status", 2, status=502)

    assert client.get_account(account.id).id == account.id
    assert client.call_counts()[("get_account", "502")] == 2
    assert emulator.request_count(ACCOUNT_ROUTE) == 3


def test_5xx_is_given_up_after_the_last_attempt(emulator, make_client, account):
    client = make_client(max_attempts=3)
    _script(emulator, "status", 50, status=500)

    with pytest.raises(ZuoraTransientError) as caught:
        client.get_account(account.id)

    assert caught.value.status == 500
    assert caught.value.retryable
    assert emulator.request_count(ACCOUNT_ROUTE) == 3


def test_total_deadline_bounds_retries(emulator, make_client, account):
    client = make_client(max_attempts=1000, retry_deadline=1.0, backoff_base=0.1, max_backoff=0.2)
    emulator.set_faults(error_probability=1.0, error_statuses=[500], paths=["/object-query"])

    started = time.monotonic()
    with pytest.raises(ZuoraTransientError):
        client.get_account(account.id)

    assert time.monotonic() - started < 15
    assert emulator.request_count(ACCOUNT_ROUTE) < 100


def test_connection_reset_is_retried(emulator, client, account):
    _script(emulator, "reset", 1)

    assert client.get_account(account.id).id == account.id
    assert client.call_counts()[("get_account", "connection_error")] == 1


def test_timeout_is_a_transient_error(emulator, make_client, account):
    client = make_client(read_timeout=0.3, max_attempts=2)
    client.get_account(account.id)  # fetch the token before the tenant slows down
    emulator.set_faults(latency=1.5)

    with pytest.raises(ZuoraTransientError):
        client.get_account(account.id)

    assert client.call_counts()[("get_account", "timeout")] == 2


def test_other_4xx_is_permanent_and_not_retried(emulator, client, account):
    _script(emulator, "status", 5, status=400)

    with pytest.raises(ZuoraPermanentError) as caught:
        client.get_account(account.id)

    assert not caught.value.retryable
    assert emulator.request_count(ACCOUNT_ROUTE) == 1


def test_paging_resumes_after_a_transient_error_mid_stream(emulator, client):
    for n in range(30):
        create_account(emulator, n)
    seen = []
    stream = client.iter_accounts(page_size=10)
    seen += [next(stream) for _ in range(10)]
    _script(emulator, "status", 1, status=503)

    seen += list(stream)

    assert len({a.id for a in seen}) == 30
