"""The token cache: lazy, shared, refreshed before expiry, replaced after a 401."""

import threading
import time

import pytest

from zuora import ZuoraResponseError
from zuora.auth import AccessToken, TokenCache, parse_token_response


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CountingFetch:
    def __init__(self, expires_in=3599.0, delay=0.0):
        self.calls = 0
        self.expires_in = expires_in
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self):
        time.sleep(self.delay)
        with self._lock:
            self.calls += 1
            return AccessToken(value=f"token-{self.calls}", expires_in=self.expires_in)


def test_token_is_fetched_lazily_and_cached():
    fetch = CountingFetch()
    cache = TokenCache(fetch, refresh_margin=60, clock=FakeClock())

    assert fetch.calls == 0
    assert cache.get() == "token-1"
    assert cache.get() == "token-1"
    assert fetch.calls == 1


def test_token_is_refreshed_shortly_before_expiry():
    clock = FakeClock()
    fetch = CountingFetch(expires_in=3599)
    cache = TokenCache(fetch, refresh_margin=60, clock=clock)
    cache.get()

    clock.now += 3599 - 61
    assert cache.get() == "token-1"
    clock.now += 2
    assert cache.get() == "token-2"


def test_short_lived_token_keeps_half_its_life():
    clock = FakeClock()
    cache = TokenCache(CountingFetch(expires_in=4), refresh_margin=60, clock=clock)
    cache.get()

    clock.now += 1.9
    assert cache.get() == "token-1"
    clock.now += 0.2
    assert cache.get() == "token-2"


def test_invalidate_replaces_only_the_rejected_token():
    fetch = CountingFetch()
    cache = TokenCache(fetch, refresh_margin=60, clock=FakeClock())
    cache.get()

    cache.invalidate("token-0")  # an older token another thread already replaced
    assert cache.get() == "token-1"
    cache.invalidate("token-1")
    assert cache.get() == "token-2"


def test_concurrent_callers_share_one_fetch():
    fetch = CountingFetch(delay=0.05)
    cache = TokenCache(fetch, refresh_margin=60)
    results = []

    threads = [threading.Thread(target=lambda: results.append(cache.get())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert fetch.calls == 1
    assert set(results) == {"token-1"}


def test_token_response_is_parsed():
    token = parse_token_response(
        {"access_token": "abc", "token_type": "bearer", "expires_in": 3599, "scope": "x"}
    )

    assert token.value == "abc"
    assert token.expires_in == 3599
    assert "abc" not in repr(token)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_in": 3599}, "token.access_token"),
        ({"access_token": 5, "expires_in": 3599}, "token.access_token"),
        ({"access_token": "abc", "expires_in": "soon"}, "token.expires_in"),
        ({"access_token": "abc", "expires_in": True}, "token.expires_in"),
        (["abc"], "token"),
    ],
)
def test_malformed_token_response_names_the_field(body, field):
    with pytest.raises(ZuoraResponseError) as caught:
        parse_token_response(body)

    assert caught.value.field == field
