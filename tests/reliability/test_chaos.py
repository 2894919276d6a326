"""`make chaos` at a reduced size: faults everywhere, then the local copy equals Zuora's.

Runs on the PostgreSQL server the suite uses (the run creates and drops its
own database), once per task backend; skipped on SQLite and, for Redis, when
no Redis answers on 127.0.0.1:6379.
"""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
REDIS = ("127.0.0.1", 6379)


def server_url() -> str:
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        pytest.skip("the chaos run needs PostgreSQL")
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/postgres"
    )


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def run_chaos(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "launcher.chaos",
            "--database-url",
            server_url(),
            "--changes",
            "500",
            "--accounts",
            "200",
            "--rate",
            "50",
            "--kill-every",
            "2",
            "--timeout",
            "300",
            *arguments,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def assert_converged(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for line in (
        "changes applied in Zuora   500",
        "workers killed (SIGKILL)",
        "callouts by fate",
        "dropped",
        "Zuora API answers",
        "zuora_sync --full",
        "OK: the local copy equals Zuora's state",
    ):
        assert line in result.stdout, result.stdout[-4000:]


def test_chaos_run_on_the_database_task_backend_converges_without_leaking_personal_data() -> None:
    assert_converged(run_chaos("--backend", "database"))


def test_chaos_run_on_the_redis_task_backend_converges_without_leaking_personal_data() -> None:
    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379")
    assert_converged(run_chaos("--backend", "redis"))
