"""The ingest section's reference (`bench/callout.pgbench`) runs against the current schema."""

import shutil

import pytest

from bench import tools
from bench.database import postgres_conninfo
from billing.models import CalloutReceipt, PendingSync
from tests.conftest import database_url_for_subprocesses

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conninfo(on_postgresql: bool) -> dict[str, str]:
    """How pgbench reaches the test database; skips where it cannot run."""
    if not on_postgresql:
        pytest.skip("pgbench needs PostgreSQL")
    if shutil.which("pgbench") is None:
        pytest.skip("pgbench is not installed")
    return postgres_conninfo(database_url_for_subprocesses())


def test_the_reference_records_callouts_as_the_service_does(conninfo: dict[str, str]) -> None:
    result = tools.pgbench(conninfo, script="callout.pgbench", clients=2, seconds=1)

    # A column the script leaves out, which the service writes, fails every transaction.
    assert result.failed == 0
    assert result.transactions > 0
    assert CalloutReceipt.objects.count() == result.transactions
    assert PendingSync.objects.exists()


def test_the_reference_at_a_fixed_rate_gives_each_transactions_latency(
    conninfo: dict[str, str],
) -> None:
    result = tools.pgbench_at_rate(
        conninfo, script="callout.pgbench", clients=2, rate=100, seconds=1
    )

    # One latency per committed transaction, read from pgbench's own log.
    assert result.failed == 0
    assert CalloutReceipt.objects.count() == len(result.latencies_ms)
    assert 50 <= len(result.latencies_ms) <= 150  # about 100 scheduled in the second
    assert all(0 < latency < 10_000 for latency in result.latencies_ms)
