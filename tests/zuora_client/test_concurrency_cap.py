"""The process-wide cap on concurrent requests, under parallel calls against a slow tenant."""

from concurrent.futures import ThreadPoolExecutor

from tests.zuora_client.emulated_zuora import create_account

CAP = 3


def _hammer(clients, account_id, calls=24):
    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [
            pool.submit(clients[n % len(clients)].get_account, account_id) for n in range(calls)
        ]
        return [future.result() for future in futures]


def test_parallel_calls_never_exceed_the_cap(emulator, make_client, recorder):
    account = create_account(emulator)
    client = make_client(transport=recorder, max_concurrency=CAP)
    client.get_account(account.id)
    # The tenant refuses (429) anything beyond CAP in flight, and holds each request.
    emulator.set_faults(latency=0.2, concurrency_limit=CAP)
    recorder.reset_peak()

    results = _hammer([client], account.id)

    assert {a.id for a in results} == {account.id}
    assert 2 <= recorder.peak_in_flight <= CAP
    assert not [key for key in client.call_counts() if key[1] == "429"]


def test_clients_of_one_tenant_share_the_cap(emulator, make_client, recorder):
    account = create_account(emulator)
    clients = [make_client(transport=recorder, max_concurrency=CAP) for _ in range(2)]
    for client in clients:
        client.get_account(account.id)
    emulator.set_faults(latency=0.2, concurrency_limit=CAP)
    recorder.reset_peak()

    _hammer(clients, account.id)

    assert recorder.peak_in_flight <= CAP
    for client in clients:
        assert not [key for key in client.call_counts() if key[1] == "429"]
