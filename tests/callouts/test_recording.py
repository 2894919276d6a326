"""An accepted callout: its receipt, its one pending sync and one task, the answer and the log."""

import logging

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from billing.models import CalloutReceipt, PendingSync, SyncKind, SyncState
from tests.callouts.conftest import (
    ACCOUNT_URL,
    AUTHORIZED,
    CONTACT_URL,
    CURRENT,
    post_form,
    post_json,
    recorded,
)
from tests.factories import zuora_id


def tasks_for(zuora_id: str) -> int:
    return sum(1 for row in DBTaskResult.objects.all() if zuora_id in row.args_kwargs["args"])


def test_recorded_callout_is_answered_200_with_success_true_as_json(zuora: Client) -> None:
    response = post_json(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, **AUTHORIZED)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"success": True}


@pytest.mark.parametrize(
    ("url", "kind"), [(ACCOUNT_URL, SyncKind.ACCOUNT), (CONTACT_URL, "contact")]
)
def test_repeated_callouts_for_one_object_coalesce_into_one_pending_sync_and_one_task(
    zuora: Client, django_capture_on_commit_callbacks, url: str, kind: str
) -> None:
    object_id = zuora_id()

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            response = post_form(zuora, url, {"id": object_id}, headers=AUTHORIZED)
            assert response.status_code == 200

    assert CalloutReceipt.objects.filter(kind=kind, zuora_id=object_id).count() == 5
    pending = PendingSync.objects.get()
    assert (pending.kind, pending.zuora_id) == (kind, object_id)
    assert (pending.state, pending.generation) == (SyncState.PENDING, 5)
    assert tasks_for(object_id) == 1


def test_callouts_for_different_objects_each_get_a_pending_sync_and_a_task(
    zuora: Client, django_capture_on_commit_callbacks
) -> None:
    first, second = zuora_id(), zuora_id()

    with django_capture_on_commit_callbacks(execute=True):
        post_form(zuora, ACCOUNT_URL, {"AccountId": first}, headers=AUTHORIZED)
        post_form(zuora, ACCOUNT_URL, {"AccountId": second}, headers=AUTHORIZED)
        post_form(zuora, CONTACT_URL, {"ContactId": first}, headers=AUTHORIZED)

    assert recorded() == (3, 3)
    assert (tasks_for(first), tasks_for(second)) == (2, 1)


@pytest.mark.django_db(transaction=True)
def test_task_is_enqueued_once_the_callout_is_committed() -> None:
    account_id = zuora_id()

    response = post_json(Client(), ACCOUNT_URL, {"AccountId": account_id}, **AUTHORIZED)

    assert response.status_code == 200
    assert recorded() == (1, 1)
    task = DBTaskResult.objects.get()
    assert task.task_path == "billing.tasks.sync_object"
    assert task.args_kwargs["args"] == [SyncKind.ACCOUNT.value, account_id]


def test_zuora_request_and_notification_ids_are_kept_on_the_receipt(zuora: Client) -> None:
    # Zuora sends a new request id on every attempt and the same notification id.
    notification_id = "5e8f2b6a1c0d4e3f9a7b6c5d4e3f2a1b"
    for request_id in ("0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"):
        post_json(
            zuora,
            ACCOUNT_URL,
            {"AccountId": "a" * 32},
            **AUTHORIZED,
            **{"Zuora-Request-Id": request_id, "Zuora-Notification-Id": notification_id},
        )

    assert list(
        CalloutReceipt.objects.order_by("pk").values_list(
            "zuora_request_id", "zuora_notification_id", "source_address"
        )
    ) == [
        ("0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", notification_id, "127.0.0.1"),
        ("9f8e7d6c5b4a39281706f5e4d3c2b1a0", notification_id, "127.0.0.1"),
    ]


@pytest.mark.parametrize("value", ["x" * 65, "id with spaces", "id\x00nul", "ïd"])
def test_request_id_that_is_not_a_plain_token_is_not_kept(zuora: Client, value: str) -> None:
    response = post_json(
        zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, **AUTHORIZED, **{"Zuora-Request-Id": value}
    )

    assert response.status_code == 200
    assert CalloutReceipt.objects.get().zuora_request_id == ""


def test_contact_callout_queues_only_the_contact(zuora: Client) -> None:
    contact_id, account_id = zuora_id(), zuora_id()

    post_json(zuora, CONTACT_URL, {"ContactId": contact_id, "AccountId": account_id}, **AUTHORIZED)

    assert list(PendingSync.objects.values_list("kind", "zuora_id")) == [
        (SyncKind.CONTACT, contact_id)
    ]
    assert CalloutReceipt.objects.get().account_zuora_id == account_id


def test_log_names_kind_id_outcome_and_request_id_but_no_secret_or_body(
    zuora: Client, caplog
) -> None:
    account_id = zuora_id()
    request_id = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"

    with caplog.at_level(logging.INFO, logger="billing.callouts"):
        post_json(
            zuora,
            ACCOUNT_URL,
            {"AccountId": account_id, "Email": "ada@example.com"},
            **AUTHORIZED,
            **{"Zuora-Request-Id": request_id},
        )
        post_json(zuora, ACCOUNT_URL, {"AccountId": account_id, "Email": "ada@example.com"})

    messages = [r.getMessage() for r in caplog.records if r.name == "billing.callouts"]
    assert messages == [
        f"callout recorded: kind=account zuora_id={account_id} outcome=recorded "
        f"request_id={request_id}",
        "callout refused: kind=account outcome=unauthenticated status=401 request_id=-",
    ]
    logged = "\n".join(messages)
    for secret in (CURRENT.password, AUTHORIZED["Authorization"], "ada@example.com"):
        assert secret not in logged
