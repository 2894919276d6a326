"""Callouts delivered to a real local HTTP server: bodies, headers, auth, retries, faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse

import httpx
from zuora_sdk.models import GetCalloutHistoryVOsType

from tests.emulator.conftest import CalloutReceiver, ReceivedCallout, new_account
from zuora_emulator.testing import EmulatorHandle, running_emulator, wait_until

CONTACT_PARAMS = {
    "ContactId": "{{DataSource.Contact.Id}}",
    "AccountId": "{{DataSource.Account.Id}}",
    "AccountNumber": "<Account.AccountNumber>",
}


def _on_contact_update(zuora: EmulatorHandle, receiver: CalloutReceiver, **extra: object) -> None:
    zuora.add_notification_definition(
        name="Contact changed",
        eventTypeName="ContactUpdated",
        calloutBaseurl=f"{receiver.url}/callouts/contact",
        calloutParams=CONTACT_PARAMS,
        **extra,
    )


def _edit_a_contact(zuora: EmulatorHandle) -> tuple[str, str]:
    account = zuora.state.create_account(
        name="Café Olé", bill_to={"firstName": "A", "lastName": "B"}
    )
    zuora.state.update_contact(account.bill_to_id, {"workEmail": "New@Example.com"})
    return account.id, account.bill_to_id


def test_callout_is_json_with_zuora_headers(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    _on_contact_update(zuora, receiver)
    account_id, contact_id = _edit_a_contact(zuora)

    [callout] = receiver.wait_for(1)

    assert callout.method == "POST"
    assert callout.path == "/callouts/contact"
    assert callout.headers["Content-Type"] == "application/json"
    assert len(callout.headers["Zuora-Request-Id"]) == 32
    assert len(callout.headers["Zuora-Notification-Id"]) == 32
    assert "Authorization" not in callout.headers
    assert json.loads(callout.body) == {
        "ContactId": contact_id,
        "AccountId": account_id,
        "AccountNumber": zuora.state.get_account(account_id).account_number,
    }
    [entry] = zuora.wait_for_callouts(1, outcome="success")
    assert entry["responseCode"] == 200
    assert entry["attemptedNum"] == 1


def test_http_api_changes_raise_callouts_too(
    zuora: EmulatorHandle, api: httpx.Client, receiver: CalloutReceiver
) -> None:
    zuora.add_notification_definition(
        eventTypeName="AccountCreated",
        calloutBaseurl=f"{receiver.url}/a",
        calloutParams={"AccountId": "{{Account.Id}}"},
    )

    created = new_account(api)

    [callout] = receiver.wait_for(1)
    assert json.loads(callout.body) == {"AccountId": created["accountId"]}


def test_form_encoded_callout(zuora: EmulatorHandle, receiver: CalloutReceiver) -> None:
    _on_contact_update(zuora, receiver, contentType="FORM_URLENCODED")
    _, contact_id = _edit_a_contact(zuora)

    [callout] = receiver.wait_for(1)

    assert callout.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(callout.body.decode())["ContactId"] == [contact_id]


def _basic_challenge(request: ReceivedCallout) -> tuple[int, dict[str, str], bytes]:
    expected = "Basic " + base64.b64encode(b"zuora:s3cret").decode()
    if request.headers.get("Authorization") == expected:
        return 200, {}, b"ok"
    return 401, {"WWW-Authenticate": 'Basic realm="callouts"'}, b""


def test_basic_auth_by_default_answers_the_challenge(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    receiver.respond = _basic_challenge
    _on_contact_update(zuora, receiver, calloutAuth={"username": "zuora", "password": "s3cret"})
    _edit_a_contact(zuora)

    first, second = receiver.wait_for(2)

    assert "Authorization" not in first.headers
    assert second.headers["Authorization"].startswith("Basic ")
    [entry] = zuora.wait_for_callouts(1)
    assert (entry["responseCode"], entry["attemptedNum"], entry["outcome"]) == (200, 1, "success")


def test_preemptive_basic_auth_sends_credentials_at_once(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    receiver.respond = _basic_challenge
    _on_contact_update(
        zuora,
        receiver,
        calloutAuth={"username": "zuora", "password": "s3cret", "preemptive": True},
    )
    _edit_a_contact(zuora)

    [callout] = receiver.wait_for(1)

    assert callout.headers["Authorization"] == "Basic " + base64.b64encode(b"zuora:s3cret").decode()


def test_hmac_signature_over_the_body(zuora: EmulatorHandle, receiver: CalloutReceiver) -> None:
    _on_contact_update(
        zuora,
        receiver,
        hmacAlgorithm="SHA-256",
        hmacOutputFormat="BASE64",
        hmacSecret="shared",
        hmacData="{{Request.Body}}",
        hmacKey="X-Test-Signature",
        hmacValue="sha256={{Request.HMAC.Signed}}",
    )
    _edit_a_contact(zuora)

    [callout] = receiver.wait_for(1)

    digest = hmac.new(b"shared", callout.body, hashlib.sha256).digest()
    assert callout.headers["X-Test-Signature"] == "sha256=" + base64.b64encode(digest).decode()


def test_failures_are_retried_up_to_the_limit_then_abandoned(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    receiver.respond = lambda _r: (503, {}, b"down")
    _on_contact_update(zuora, receiver)
    _edit_a_contact(zuora)

    attempts = zuora.wait_for_callouts(3)
    wait_until(lambda: attempts[-1]["outcome"] == "failed", 5, "abandon")

    assert [a["attemptedNum"] for a in attempts] == [1, 2, 3]
    assert [a["outcome"] for a in attempts] == ["retrying", "retrying", "failed"]
    assert len({a["notificationId"] for a in attempts}) == 1
    assert len({a["requestId"] for a in attempts}) == 3
    received = receiver.wait_for(3)
    assert len({r.headers["Zuora-Notification-Id"] for r in received}) == 1
    assert len({r.headers["Zuora-Request-Id"] for r in received}) == 3
    wait_until(lambda: len(zuora.callout_history()) >= 3, 5, "history")
    assert len(zuora.callout_history()) == 3  # nothing after the third attempt


def test_success_after_a_retry_stops_retrying(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    answers = iter([500, 200])
    receiver.respond = lambda _r: (next(answers, 200), {}, b"")
    _on_contact_update(zuora, receiver)
    _edit_a_contact(zuora)

    attempts = zuora.wait_for_callouts(2)

    assert [(a["responseCode"], a["outcome"]) for a in attempts] == [
        (500, "retrying"),
        (200, "success"),
    ]


def test_non_retriable_answers_are_not_retried(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    receiver.respond = lambda _r: (400, {}, b"bad")
    _on_contact_update(zuora, receiver)
    _edit_a_contact(zuora)

    [entry] = zuora.wait_for_callouts(1)

    assert (entry["responseCode"], entry["outcome"]) == (400, "failed")


def test_a_201_is_not_success(zuora: EmulatorHandle, receiver: CalloutReceiver) -> None:
    receiver.respond = lambda _r: (201, {}, b"")
    _on_contact_update(zuora, receiver)
    _edit_a_contact(zuora)

    [entry] = zuora.wait_for_callouts(1)

    assert entry["outcome"] == "failed"


def test_connection_failures_are_retried(zuora: EmulatorHandle) -> None:
    zuora.add_notification_definition(
        eventTypeName="ContactUpdated", calloutBaseurl="http://127.0.0.1:9/nothing-listens"
    )
    _edit_a_contact(zuora)

    attempts = zuora.wait_for_callouts(3)

    assert all(a["responseCode"] < 0 for a in attempts)
    assert attempts[-1]["outcome"] == "failed"


def test_bill_to_switch_raises_account_events(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    zuora.install_default_definitions(receiver.url)
    account = zuora.state.create_account(name="S", bill_to={"firstName": "A", "lastName": "B"})
    receiver.wait_for(3)  # AccountCreated + two ContactCreated

    zuora.state.update_account(account.id, bill_to_contact_id=account.sold_to_id)

    received = receiver.wait_for(5)
    events = sorted(json.loads(r.body)["EventType"] for r in received[3:])
    assert events == ["AccountBillToSoldToChanged", "AccountUpdated"]
    assert {r.path for r in received[3:]} == {"/account"}


def test_dropped_callouts_are_never_sent(zuora: EmulatorHandle, receiver: CalloutReceiver) -> None:
    zuora.set_faults(callout_drop_probability=1.0)
    _on_contact_update(zuora, receiver)
    _edit_a_contact(zuora)

    [entry] = zuora.wait_for_callouts(1, outcome="dropped")

    assert entry["responseCode"] is None
    assert receiver.received == []


def test_duplicated_callouts_arrive_twice_with_the_same_notification_id(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    zuora.set_faults(callout_duplicate_probability=1.0)
    _on_contact_update(zuora, receiver)
    _edit_a_contact(zuora)

    first, second = receiver.wait_for(2)

    assert first.headers["Zuora-Notification-Id"] == second.headers["Zuora-Notification-Id"]
    assert first.headers["Zuora-Request-Id"] != second.headers["Zuora-Request-Id"]


def test_reordered_callouts_arrive_out_of_order(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    zuora.set_faults(callout_reorder=True, callout_reorder_window=2.0)
    zuora.add_notification_definition(
        eventTypeName="ContactUpdated",
        calloutBaseurl=receiver.url,
        calloutParams={"City": "{{Contact.City}}", "Email": "{{Contact.WorkEmail}}"},
    )
    account = zuora.state.create_account(name="R", bill_to={"firstName": "A", "lastName": "B"})
    sent = [f"n{i}@example.com" for i in range(5)]
    for email in sent:
        zuora.state.update_contact(account.bill_to_id, {"workEmail": email})

    received = receiver.wait_for(5)

    arrived = [json.loads(r.body)["Email"] for r in received]
    assert sorted(arrived) == sorted(sent)
    assert arrived != sent


def test_delayed_callouts_still_arrive(zuora: EmulatorHandle, receiver: CalloutReceiver) -> None:
    zuora.set_faults(callout_delay=0.3)
    _on_contact_update(zuora, receiver)
    _edit_a_contact(zuora)

    assert len(receiver.wait_for(1)) == 1


def test_zuora_shaped_history_lists_failures_by_default(
    zuora: EmulatorHandle, api: httpx.Client, receiver: CalloutReceiver
) -> None:
    receiver.respond = lambda _r: (503, {}, b"")
    _on_contact_update(zuora, receiver)
    _, contact_id = _edit_a_contact(zuora)
    zuora.wait_for_callouts(3)

    response = api.get("/v1/notification-history/callout", params={"objectId": contact_id})

    body = response.json()
    assert body["success"] is True
    histories = GetCalloutHistoryVOsType.from_dict(body).callout_histories
    assert [h.attempted_num for h in histories] == ["1", "2", "3"]
    assert {h.response_code for h in histories} == {"503"}


def test_control_endpoint_lists_and_manages_definitions(
    zuora: EmulatorHandle, receiver: CalloutReceiver
) -> None:
    created = httpx.post(
        f"{zuora.base_url}/_emulator/notification-definitions",
        json={
            "eventTypeName": "ContactDeleted",
            "calloutBaseurl": receiver.url,
            "calloutAuth": {"username": "u", "password": "p"},
        },
    )
    assert created.status_code == 201
    listed = httpx.get(f"{zuora.base_url}/_emulator/notification-definitions").json()
    assert [d["eventTypeName"] for d in listed["definitions"]] == ["ContactDeleted"]
    assert listed["definitions"][0]["calloutAuth"]["password"] == "********"
    bad = httpx.post(
        f"{zuora.base_url}/_emulator/notification-definitions",
        json={"eventTypeName": "Nope", "calloutBaseurl": receiver.url},
    )
    assert bad.status_code == 400
    deleted = httpx.delete(
        f"{zuora.base_url}/_emulator/notification-definitions/{created.json()['id']}"
    )
    assert deleted.status_code == 200


def test_callout_base_url_installs_default_definitions(receiver: CalloutReceiver) -> None:
    with running_emulator(callout_base_url=receiver.url) as zuora:
        account = zuora.state.create_account(name="D", bill_to={"firstName": "A", "lastName": "B"})
        received = receiver.wait_for(3)

    assert {r.path for r in received} == {"/account", "/contact"}
    bodies = [json.loads(r.body) for r in received]
    assert all(b["AccountId"] == account.id for b in bodies)


def test_a_slow_receiver_gets_at_most_callout_concurrency_callouts_at_once(
    receiver: CalloutReceiver,
) -> None:
    in_flight, most = 0, 0
    lock = threading.Lock()

    def slow(_request: ReceivedCallout) -> tuple[int, dict[str, str], bytes]:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.2)
        with lock:
            in_flight -= 1
        return 200, {}, b"{}"

    receiver.respond = slow
    with running_emulator(callout_concurrency=2, callout_timeout=0.5) as zuora:
        _on_contact_update(zuora, receiver)
        account = zuora.state.create_account(
            name="Acme", bill_to={"firstName": "A", "lastName": "B"}
        )
        for number in range(6):
            zuora.state.update_contact(account.bill_to_id, {"lastName": f"L{number}"})

        entries = zuora.wait_for_callouts(6)

    assert most == 2
    # Waiting for a free slot does not count against the timeout of an attempt.
    assert [entry["outcome"] for entry in entries] == ["success"] * 6
