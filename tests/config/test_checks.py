"""A misconfigured installation refuses to start with a message, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from config import checks

ROOT = Path(__file__).resolve().parents[2]
ZUORA = {
    "ZUORA_BASE_URL": "http://127.0.0.1:9",
    "ZUORA_CLIENT_ID": "id",
    "ZUORA_CLIENT_SECRET": "secret",
}


def ids(messages: list) -> list[str]:
    return [message.id for message in messages]


@override_settings(DEBUG=False, SECRET_KEY_FROM_ENVIRONMENT=False)
def test_missing_secret_key_in_production_is_an_error() -> None:
    assert ids(checks.check_secret_key()) == ["config.E002"]


@override_settings(DEBUG=True, SECRET_KEY_FROM_ENVIRONMENT=False)
def test_missing_secret_key_is_fine_in_development() -> None:
    assert checks.check_secret_key() == []


@override_settings(
    DEBUG=False,
    ZUORA_SYNC_ENABLED=True,
    ZUORA_CLIENT_SECRET="",
    **{key: value for key, value in ZUORA.items() if key != "ZUORA_CLIENT_SECRET"},
)
def test_missing_zuora_credentials_with_sync_enabled_is_an_error() -> None:
    messages = checks.check_zuora_credentials()
    assert ids(messages) == ["config.E003"]
    assert "ZUORA_CLIENT_SECRET is not set" in messages[0].msg


@override_settings(DEBUG=True, ZUORA_SYNC_ENABLED=True, ZUORA_BASE_URL="")
def test_missing_zuora_credentials_in_development_is_a_warning() -> None:
    assert ids(checks.check_zuora_credentials()) == ["config.W003"]


@override_settings(DEBUG=False, ZUORA_SYNC_ENABLED=False, ZUORA_BASE_URL="")
def test_missing_zuora_credentials_with_sync_disabled_is_fine() -> None:
    assert checks.check_zuora_credentials() == []


@override_settings(CONFIGURATION_ERRORS=["DATABASE_URL cannot be parsed: whatever"])
def test_unparseable_environment_value_is_an_error() -> None:
    messages = checks.check_environment()
    assert ids(messages) == ["config.E001"]
    assert "DATABASE_URL" in messages[0].msg


def run_with_environment(code: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SECRET_KEY", "DEBUG", *ZUORA}
    }
    environment.update(variables)
    return subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, *code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"SECRET_KEY": "x" * 50, **ZUORA, "DATABASE_URL": "nosuchdb://x/y"}, "DATABASE_URL"),
        ({**ZUORA}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "x" * 50}, "ZUORA_BASE_URL, ZUORA_CLIENT_ID, ZUORA_CLIENT_SECRET"),
        ({"SECRET_KEY": "x" * 50, **ZUORA, "DEBUG": "perhaps"}, "DEBUG must be one of"),
    ],
)
def test_management_commands_refuse_to_start_when_misconfigured(
    variables: dict[str, str], expected: str
) -> None:
    result = run_with_environment(["manage.py", "check"], **variables)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_web_server_entry_point_refuses_to_start_when_misconfigured() -> None:
    result = run_with_environment(["-c", "import config.wsgi"], **ZUORA)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_complete_production_configuration_starts() -> None:
    result = run_with_environment(
        ["manage.py", "check", "--fail-level", "ERROR"], SECRET_KEY="x" * 50, **ZUORA
    )
    assert result.returncode == 0, result.stderr


def test_without_a_mail_server_emails_go_to_files_not_to_the_output(tmp_path: Path) -> None:
    script = (
        "import django; django.setup();"
        "from django.core.mail import send_mail;"
        "send_mail('Welcome', 'Hello Ada', 'billing@localhost', ['ada@example.com'])"
    )
    result = run_with_environment(
        ["-c", script],
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        EMAIL_FILE_PATH=str(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert "ada@example.com" not in result.stdout + result.stderr
    [message] = tmp_path.iterdir()
    assert "To: ada@example.com" in message.read_text()
