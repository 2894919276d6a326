"""What the client tells operators: structured logs without personal data, track ids, counts."""

import logging
import re

import pytest
from prometheus_client import REGISTRY

from tests.zuora_client.emulated_zuora import ACCOUNT_ROUTE
from zuora import ZuoraNotFound

PERSONAL = {
    "first_name": "Quintessa",
    "last_name": "Vandermolen-Øyelaran",
    "nickname": "Quinnie",
    "work_email": "quintessa.vandermolen@example.org",
    "personal_email": "q.private.mailbox@example.net",
    "work_phone": "+1 415 555 0199",
    "mobile_phone": "+1 415 555 0142",
    "address1": "742 Evergreen Terrace",
    "city": "Springfield",
    "postal_code": "97403",
}
FIELDS = {
    "firstName": PERSONAL["first_name"],
    "lastName": PERSONAL["last_name"],
    "nickName": PERSONAL["nickname"],
    "workEmail": PERSONAL["work_email"],
    "personalEmail": PERSONAL["personal_email"],
    "workPhone": PERSONAL["work_phone"],
    "mobilePhone": PERSONAL["mobile_phone"],
    "address1": PERSONAL["address1"],
    "city": PERSONAL["city"],
    "postalCode": PERSONAL["postal_code"],
}
REQUEST_FIELDS = ("operation", "method", "path", "status", "duration_ms", "track_id", "attempt")


@pytest.fixture
def person_account(emulator):
    return emulator.state.create_account(
        name="Vandermolen Household", currency="EUR", bill_to=FIELDS, sold_to=FIELDS
    )


def _exercise(emulator, client, account):
    """Every operation, with a 404, a 429, a 5xx, a reset and a token replacement."""
    emulator.set_faults(
        retry_after=0,
        script=[
            {"fault": "rate_limit", "times": 1, "path": "/object-query/accounts/"},
            {"fault": "status", "status": 503, "times": 1, "path": "/object-query/contacts/"},
            {"fault": "reset", "times": 1, "path": "/object-query/contacts"},
        ],
    )
    client.get_account(account.id)
    client.get_contact(account.sold_to_id)
    emulator.expire_tokens()
    list(client.iter_contacts(account_id=account.id))
    list(client.iter_accounts(ids=[account.id]))
    client.existing_account_ids([account.id, "0" * 32])
    with pytest.raises(ZuoraNotFound):
        client.get_contact("0" * 32)


def test_logs_contain_no_personal_data_or_secrets(
    emulator, make_client, recorder, person_account, caplog, capsys
):
    client = make_client(transport=recorder)
    caplog.set_level(logging.DEBUG)

    _exercise(emulator, client, person_account)

    fetched = client.get_contact(person_account.bill_to_id)
    assert fetched.work_email == PERSONAL["work_email"]  # the data did pass through
    tokens = {
        r.headers["authorization"].split()[-1]
        for r in recorder.sent
        if "authorization" in r.headers
    }
    assert tokens
    forbidden = [*PERSONAL.values(), emulator.client_secret, *tokens]
    captured = capsys.readouterr()
    outputs = [captured.out, captured.err]
    # Every attribute of every record, except the clock's: a postal code of
    # digits can turn up inside a timestamp (relativeCreated 132853.697403).
    timing = {"created", "msecs", "relativeCreated"}
    outputs += [
        f"{record.getMessage()} { ({k: v for k, v in vars(record).items() if k not in timing})!r}"
        for record in caplog.records
    ]
    assert len(caplog.records) > 10
    for output in outputs:
        for value in forbidden:
            assert value not in output


def test_every_request_is_logged_with_structured_fields(emulator, client, person_account, caplog):
    caplog.set_level(logging.INFO, logger="zuora")

    client.get_account(person_account.id)
    with pytest.raises(ZuoraNotFound):
        client.get_account("0" * 32)

    records = [r for r in caplog.records if r.name == "zuora" and r.getMessage() == "zuora request"]
    assert [(r.operation, r.status) for r in records] == [
        ("oauth_token", 200),
        ("get_account", 200),
        ("get_account", 404),
    ]
    for record in records:
        for field in REQUEST_FIELDS:
            assert getattr(record, field) is not None, field
    assert records[1].path == "/object-query/accounts/{key}"
    assert records[1].method == "GET"
    assert records[1].attempt == 1


def test_retries_are_logged_with_their_attempt_and_wait(emulator, client, person_account, caplog):
    caplog.set_level(logging.INFO, logger="zuora")
    emulator.set_faults(script=[{"fault": "status", "status": 502, "path": "/object-query"}])

    client.get_account(person_account.id)

    retry = next(r for r in caplog.records if r.getMessage() == "zuora request failed, retrying")
    assert retry.operation == "get_account"
    assert retry.attempt == 1
    assert retry.outcome == "ZuoraTransientError"
    assert retry.wait_seconds >= 0


def test_track_id_is_sent_and_kept_across_retries(emulator, make_client, recorder, person_account):
    client = make_client(transport=recorder)
    client.get_account(person_account.id)
    emulator.set_faults(script=[{"fault": "status", "status": 502, "times": 2, "path": "/object"}])

    client.get_account(person_account.id)

    account_requests = [r for r in recorder.sent if r.path.startswith("/object-query/accounts/")]
    track_ids = [r.headers["zuora-track-id"] for r in account_requests]
    assert len(track_ids) == 4
    assert len(set(track_ids[1:])) == 1
    assert track_ids[0] != track_ids[1]
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in track_ids)
    assert all("zuora-track-id" in r.headers for r in recorder.sent)


def test_requests_are_counted_by_operation_and_outcome(emulator, client, person_account):
    def prometheus(operation, outcome):
        labels = {"operation": operation, "outcome": outcome}
        return REGISTRY.get_sample_value("zuora_client_requests_total", labels) or 0.0

    before = prometheus("get_account", "503")
    emulator.set_faults(script=[{"fault": "status", "status": 503, "path": "/object-query"}])

    client.get_account(person_account.id)
    with pytest.raises(ZuoraNotFound):
        client.get_contact("0" * 32)

    assert client.call_counts() == {
        ("oauth_token", "200"): 1,
        ("get_account", "503"): 1,
        ("get_account", "200"): 1,
        ("get_contact", "404"): 1,
    }
    assert prometheus("get_account", "503") == before + 1
    assert emulator.request_count(ACCOUNT_ROUTE) == 2
