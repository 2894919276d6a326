"""OAuth tokens against the emulator: lazy, shared, refreshed before expiry and after a 401."""

import threading
import time

import pytest

from tests.zuora_client.emulated_zuora import (
    ACCOUNT_ROUTE,
    TOKEN_ROUTE,
    config_for,
    create_account,
)
from zuora import ZuoraAuthenticationError, ZuoraClient
from zuora_emulator.testing import running_emulator


def test_no_token_is_fetched_before_the_first_call(emulator, client):
    assert emulator.request_count(TOKEN_ROUTE) == 0


def test_one_token_serves_many_calls(emulator, client):
    created = create_account(emulator)

    for _ in range(5):
        client.get_account(created.id)

    assert emulator.request_count(TOKEN_ROUTE) == 1


def test_parallel_first_calls_share_one_token_fetch(emulator, client):
    created = create_account(emulator)
    threads = [threading.Thread(target=client.get_account, args=(created.id,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert emulator.request_count(TOKEN_ROUTE) == 1
    assert emulator.request_count(ACCOUNT_ROUTE) == 8


def test_token_is_refreshed_before_it_expires():
    # A 4-second token is refreshed once half of it has passed, so the call
    # after the pause never meets a 401.
    with running_emulator(seed=4, token_lifetime=4) as zuora:
        created = create_account(zuora)
        with ZuoraClient(config_for(zuora)) as client:
            client.get_account(created.id)
            time.sleep(2.5)
            client.get_account(created.id)

            assert zuora.request_count(TOKEN_ROUTE) >= 2
            assert not any(outcome == "401" for _, outcome in client.call_counts())


def test_a_revoked_token_is_replaced_once_after_a_401(emulator, client):
    created = create_account(emulator)
    client.get_account(created.id)
    emulator.expire_tokens()

    account = client.get_account(created.id)

    assert account.id == created.id
    assert emulator.request_count(TOKEN_ROUTE) == 2
    counts = client.call_counts()
    assert counts[("get_account", "401")] == 1
    assert counts[("oauth_token", "200")] == 2


def test_token_expired_early_by_the_server_is_replaced(emulator, client):
    created = create_account(emulator)
    emulator.set_faults(script=[{"fault": "expire_token", "path": "/object-query"}])

    assert client.get_contact(created.bill_to_id).id == created.bill_to_id
    assert emulator.request_count(TOKEN_ROUTE) == 2


def test_401_in_the_v1_envelope_is_also_handled(emulator, client):
    created = create_account(emulator)
    client.get_account(created.id)
    emulator.set_faults(unauthorized_v1_envelope=True)
    emulator.expire_tokens()

    assert client.get_account(created.id).id == created.id


def test_wrong_credentials_fail_fast_as_authentication_error(emulator, make_client):
    client = make_client(client_secret="not-the-secret")

    with pytest.raises(ZuoraAuthenticationError):
        client.get_account("0" * 32)

    assert emulator.request_count(TOKEN_ROUTE) == 1
    assert emulator.request_count(ACCOUNT_ROUTE) == 0
