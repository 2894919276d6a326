"""Operators see the service's health and its queue through /healthz, /readyz and /metrics."""

import pytest
from django.test import Client

from billing.models import SyncKind
from billing.sync import pending
from tests.factories import zuora_id


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_task_backend(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "tasks": True}}


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_database_is(client: Client) -> None:
    from django.db import OperationalError, connection

    def refuse(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        raise OperationalError("database unreachable")

    with connection.execute_wrapper(refuse):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


def test_health_endpoints_refuse_other_methods(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_metrics_show_queue_state_and_oldest_pending_age(client: Client) -> None:
    pending.request_sync(kind=SyncKind.ACCOUNT, zuora_id=zuora_id())
    held_id = zuora_id()
    pending.request_sync(kind=SyncKind.CONTACT, zuora_id=held_id)
    held = pending.claim(kind=SyncKind.CONTACT, zuora_id=held_id)
    assert held is not None
    pending.fail(held, error="x", retryable=False)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert 'zuora_sync_pending_syncs{state="pending"} 1.0' in body
    assert 'zuora_sync_pending_syncs{state="dead"} 1.0' in body
    assert "zuora_sync_oldest_pending_age_seconds" in body
    assert "zuora_client_requests_total" in body or "zuora_client_requests" in body
    assert "zuora_sync_sync_duration_seconds" in body


@pytest.mark.django_db
def test_metrics_count_callouts_by_kind_and_outcome(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    from config.environment import CalloutCredential

    settings.ZUORA_CALLOUT_CREDENTIALS = (CalloutCredential("zuora", "pw"),)
    client.post("/api/v1/zuora/callouts/sync_account", {"AccountId": zuora_id()})

    body = client.get("/metrics").content.decode()

    assert 'zuora_sync_callouts_total{kind="account",outcome="unauthenticated"}' in body


@pytest.mark.django_db
def test_readyz_checks_redis_when_tasks_live_there(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on port 9: Redis is unreachable, so not ready.
    settings.TASKS_REDIS_URL = "redis://127.0.0.1:9/0"
    settings.TASKS = {
        "default": {
            "BACKEND": settings.REDIS_TASKS_BACKEND,
            "QUEUES": ["default"],
            "OPTIONS": {"REDIS_URL": settings.TASKS_REDIS_URL},
        }
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "tasks": False}


@pytest.mark.django_db
def test_readyz_is_ready_with_a_reachable_redis(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.TASKS_REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.TASKS = {
        "default": {
            "BACKEND": settings.REDIS_TASKS_BACKEND,
            "QUEUES": ["default"],
            "OPTIONS": {"REDIS_URL": settings.TASKS_REDIS_URL},
        }
    }

    assert client.get("/readyz").json()["checks"] == {"database": True, "tasks": True}
