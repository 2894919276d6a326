"""On PostgreSQL the launcher gives each sync worker a connection pool, elsewhere none."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.stack import Stack
from tests.launcher.conftest import running_stack

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path, web=False, workers=1, worker_pool_size=3) as stack:
        yield stack


def environment_of(stack: Stack, name: str) -> dict[str, str]:
    process = stack.supervisor.processes[name]
    raw = Path(f"/proc/{process.pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode().split("\0") if "=" in entry)


def test_a_worker_shares_a_pool_on_postgresql_only(stack: Stack, on_postgresql: bool) -> None:
    environment = environment_of(stack, stack.worker_names[0])

    if on_postgresql:
        assert environment["DATABASE_POOL_SIZE"] == "3"
    else:
        assert "DATABASE_POOL_SIZE" not in environment
