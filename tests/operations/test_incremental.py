"""Incremental passes from the watermark heal callouts that never arrived."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from billing.models import (
    BillingAccount,
    BillingAccountContact,
    CalloutReceipt,
    PassKind,
    PassState,
    ReconciliationRun,
)
from billing.sync import backfill
from tests.operations.conftest import ACCOUNTS_QUERY, CONTACTS_QUERY, ZuoraFactory
from tests.sync.conftest import differences, new_account
from zuora_emulator.testing import EmulatorHandle

pytestmark = pytest.mark.django_db

FETCH_ACCOUNT = "GET /object-query/accounts/{key}"


def change_several_things(zuora: EmulatorHandle) -> None:
    """Edits of every kind an incremental pass can see."""
    accounts = zuora.dump()["accounts"]
    first, second, third = accounts[0]["id"], accounts[1]["id"], accounts[2]["id"]
    extra = zuora.state.create_contact(
        account_key=first, fields={"firstName": "Noor", "lastName": "Haddad"}
    )
    zuora.state.update_account(first, sold_to_contact_id=extra.id)
    zuora.state.update_contact(accounts[1]["billToId"], {"workEmail": "Billing@Example.NET"})
    zuora.state.update_account(second, fields={"name": "Renamed Ltd"})
    zuora.state.update_account(third, bill_to_contact_id=accounts[2]["soldToId"])
    new_account(zuora, name="Brand New GmbH")


def test_callouts_dropped_by_zuora_are_repaired_by_the_incremental_pass(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=60, callout_interval=0.05)
    call_command("zuora_sync", "--full", stdout=StringIO())
    zuora.install_default_definitions("http://127.0.0.1:9/callouts")
    zuora.set_faults(callout_drop_probability=1.0)

    change_several_things(zuora)
    zuora.wait_for_callouts(6, outcome="dropped")
    assert not CalloutReceipt.objects.exists()
    assert differences(zuora) != []
    zuora.reset_request_counts()

    out = StringIO()
    call_command("zuora_sync", stdout=out)

    assert differences(zuora) == []
    assert "zuora_sync: incremental pass #" in out.getvalue()
    # Only what changed (and the lookback) is read: one page of each.
    assert zuora.request_count(ACCOUNTS_QUERY) == 1
    assert zuora.request_count(CONTACTS_QUERY) == 1
    assert zuora.request_count(FETCH_ACCOUNT) == 0


def test_incremental_pass_reads_from_the_watermark_minus_the_lookback(
    seeded_zuora: ZuoraFactory,
) -> None:
    seeded_zuora(accounts=10)
    full = backfill.run_full_pass()

    with override_settings(ZUORA_SYNC_LOOKBACK_SECONDS=120):
        run = backfill.run_incremental_pass()
        # Nothing changed: the watermarks carry over.
        assert backfill.stored_watermark() == run.since

    assert run.kind == PassKind.INCREMENTAL
    assert run.since == min(full.accounts_watermark, full.contacts_watermark) - timedelta(
        seconds=120
    )


def test_incremental_pass_moves_the_watermark_to_the_latest_updated_date_read(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=10)
    backfill.run_full_pass()
    zuora.state.clock.advance(3600)
    remote = new_account(zuora, name="Later Ltd")

    run = backfill.run_incremental_pass()

    # The new account, and whatever the lookback re-read.
    assert 1 <= run.accounts_read < 10
    assert run.accounts_watermark == remote_updated(zuora, remote.id)
    assert BillingAccount.objects.filter(zuora_id=remote.id).exists()


def test_a_contact_whose_account_is_not_here_yet_brings_its_account(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=5)
    backfill.run_full_pass()
    zuora.state.clock.advance(3600)
    remote = new_account(zuora, name="Created Meanwhile")
    extra = zuora.state.create_contact(
        account_key=remote.id, fields={"firstName": "Lin", "lastName": "Wei"}
    )
    # The contacts phase starts from the contacts' watermark; the account is read
    # too, here as if it were created after the accounts phase had passed it.
    ReconciliationRun.objects.create(
        kind=PassKind.INCREMENTAL,
        since=backfill.stored_watermark(),
        phase="contacts",
        state=PassState.FAILED,
    )
    zuora.reset_request_counts()

    backfill.run_incremental_pass()

    contact = BillingAccountContact.objects.get(zuora_id=extra.id)
    assert contact.billing_account.zuora_id == remote.id
    assert zuora.request_count(FETCH_ACCOUNT) == 1
    assert differences(zuora) == []


def test_without_any_finished_pass_the_incremental_pass_asks_for_a_full_one(
    seeded_zuora: ZuoraFactory,
) -> None:
    seeded_zuora(accounts=1)

    with pytest.raises(CommandError, match="run a full pass first"):
        call_command("zuora_sync", stdout=StringIO())


def test_since_reads_from_the_given_time(seeded_zuora: ZuoraFactory) -> None:
    zuora = seeded_zuora(accounts=40)

    call_command("zuora_sync", "--since", "2d", stdout=StringIO())

    since = ReconciliationRun.objects.get().since
    dump = zuora.dump()
    # Accounts changed since then, and the accounts of contacts changed since then.
    expected = {
        item["id"]
        for item in dump["accounts"]
        if datetime.fromisoformat(item["updatedDate"]) >= since
    } | {
        item["accountId"]
        for item in dump["contacts"]
        if datetime.fromisoformat(item["updatedDate"]) >= since
    }
    assert expected
    assert set(BillingAccount.objects.values_list("zuora_id", flat=True)) == expected


def test_watch_runs_a_full_pass_first_then_increments(seeded_zuora: ZuoraFactory) -> None:
    zuora = seeded_zuora(accounts=20)
    out = StringIO()

    with override_settings(ZUORA_SYNC_FULL_EVERY=3600):
        call_command("zuora_sync", "--watch", "--interval", "0.01", "--passes", "3", stdout=out)

    kinds = list(ReconciliationRun.objects.order_by("started_at").values_list("kind", flat=True))
    assert kinds == [PassKind.FULL, PassKind.INCREMENTAL, PassKind.INCREMENTAL]
    assert out.getvalue().strip().endswith("3 passes finished, 0 skipped, 0 failed")
    assert differences(zuora) == []


def test_watch_heals_a_lost_callout_within_one_interval(seeded_zuora: ZuoraFactory) -> None:
    zuora = seeded_zuora(accounts=5)
    backfill.run_full_pass()
    account_id = zuora.dump()["accounts"][0]["id"]
    zuora.state.update_account(account_id, fields={"name": "Lost Callout AB"})

    call_command("zuora_sync", "--watch", "--interval", "0.01", "--passes", "1", stdout=StringIO())

    assert BillingAccount.objects.get(zuora_id=account_id).name == "Lost Callout AB"


def remote_updated(zuora: EmulatorHandle, account_id: str) -> datetime:
    item = next(a for a in zuora.dump()["accounts"] if a["id"] == account_id)
    return datetime.fromisoformat(item["updatedDate"])


def test_watch_skips_a_pass_while_another_one_runs(seeded_zuora: ZuoraFactory) -> None:
    seeded_zuora(accounts=2)
    ReconciliationRun.objects.create(kind=PassKind.FULL)
    out = StringIO()

    call_command("zuora_sync", "--watch", "--interval", "0.01", "--passes", "1", stdout=out)

    assert "skipped: full pass #" in out.getvalue()
    assert out.getvalue().strip().endswith("0 passes finished, 1 skipped, 0 failed")
