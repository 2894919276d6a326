"""Logs are JSON lines with correlation ids, and never carry personal data."""

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from config.environment import CalloutCredential
from config.logging import logging_config


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict]]]:
    """Log lines as the production configuration renders them, parsed."""
    config = logging_config(level="INFO", json=True)["formatters"]["structured"]
    formatter = config.pop("()")(**config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line]

    try:
        yield read
    finally:
        root.removeHandler(handler)


def test_personal_fields_and_email_addresses_are_redacted(json_lines) -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("billing.test").info(
        "contact %s changed",
        "Ann.Lee@Example.com",
        extra={"first_name": "Ann", "work_phone": "+1 555", "zuora_id": "ab" * 16},
    )
    (line,) = json_lines()
    assert line["event"] == "contact [email] changed"
    assert line["first_name"] == "[redacted]"
    assert line["work_phone"] == "[redacted]"
    assert line["zuora_id"] == "ab" * 16
    assert "Ann" not in json.dumps(line)


def test_secrets_are_redacted(json_lines) -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("zuora").info("token", extra={"access_token": "t0k3n", "password": "pw"})
    (line,) = json_lines()
    assert "t0k3n" not in json.dumps(line)
    assert "pw" not in json.dumps(line).replace("password", "")


def test_exceptions_do_not_leak_addresses(json_lines) -> None:  # type: ignore[no-untyped-def]
    try:
        raise ValueError("duplicate key (email)=(zoe@example.org)")
    except ValueError:
        logging.getLogger("billing.test").exception("failed")
    (line,) = json_lines()
    assert "zoe@example.org" not in json.dumps(line)


@pytest.mark.django_db
def test_each_request_gets_a_correlation_id_in_its_log_lines(client: Client, json_lines) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/zuora/callouts/sync_account", headers={"X-Request-ID": "abc-123"}
    )

    assert response["X-Request-ID"] == "abc-123"
    assert any(line.get("request_id") == "abc-123" for line in json_lines())
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 16
    assert (
        client.get("/healthz", headers={"X-Request-ID": "<script>"})["X-Request-ID"] != "<script>"
    )


def test_a_refused_callout_is_logged_once_with_its_reason(
    client: Client, json_lines, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ZUORA_CALLOUT_CREDENTIALS = (CalloutCredential("zuora", "a-long-enough-password"),)
    # Zuora's first request of every callout has no credentials and gets the
    # Basic challenge: one info line from the view, no warning from Django.
    response = client.post("/api/v1/zuora/callouts/sync_account")

    assert response.status_code == 401
    lines = json_lines()
    assert [line["logger"] for line in lines] == ["billing.callouts"]
    assert lines[0]["level"] == "info"
    assert "refused" in lines[0]["event"]


def test_django_still_logs_client_errors_elsewhere(client: Client, json_lines) -> None:  # type: ignore[no-untyped-def]
    client.get("/no-such-page/")

    assert any(
        line["logger"] == "django.request" and line["level"] == "warning" for line in json_lines()
    )


def test_task_lifecycle_lines_are_left_out_but_failures_are_kept() -> None:
    from django.tasks.signals import logger as tasks_logger

    # As Django configured logging from the settings at start-up.
    assert not tasks_logger.isEnabledFor(logging.INFO)
    assert tasks_logger.isEnabledFor(logging.ERROR)
    assert logging.getLogger("billing.sync.runner").isEnabledFor(logging.INFO)
