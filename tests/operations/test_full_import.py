"""`zuora_sync --full` imports every account and contact, resumes, and repairs what it finds."""

from datetime import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import (
    BillingAccount,
    BillingAccountContact,
    PassKind,
    PassPhase,
    PassState,
    PendingSync,
    ReconciliationRun,
)
from billing.sync import backfill
from billing.sync.runner import run_due
from tests.operations.conftest import (
    ACCOUNTS_QUERY,
    CONTACTS_QUERY,
    TOKEN,
    ZuoraFactory,
    paging_minimum,
    zuora_counts,
)
from tests.sync.conftest import differences
from zuora import ZuoraError
from zuora.query import MAX_PAGE_SIZE

pytestmark = pytest.mark.django_db


def test_full_import_of_two_thousand_accounts_sets_bill_to_and_sold_to_references(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=2000)
    accounts, contacts = zuora_counts(zuora)
    zuora.reset_request_counts()
    out = StringIO()

    call_command("zuora_sync", "--full", stdout=out)

    assert BillingAccount.objects.count() == accounts == 2000
    assert BillingAccountContact.objects.count() == contacts
    assert differences(zuora) == []
    sample = BillingAccount.objects.select_related("bill_to_contact", "sold_to_contact")[:50]
    remote = {item["id"]: item for item in zuora.dump()["accounts"]}
    for account in sample:
        assert account.bill_to_contact.zuora_id == remote[account.zuora_id]["billToId"]
        assert account.sold_to_contact.zuora_id == remote[account.zuora_id]["soldToId"]
        assert account.sold_to_contact.billing_account_id == account.pk
    # One call per page of accounts and of contacts, plus the token: the paging minimum.
    assert zuora.request_count(ACCOUNTS_QUERY) == paging_minimum(accounts)
    assert zuora.request_count(CONTACTS_QUERY) == paging_minimum(contacts)
    assert zuora.request_count(TOKEN) == 1
    assert zuora.request_count() == paging_minimum(accounts) + paging_minimum(contacts) + 1
    summary = out.getvalue().strip().splitlines()[-1]
    assert summary.startswith("zuora_sync: full pass #")
    assert f"{zuora.request_count()} Zuora calls" in summary


def test_full_import_records_the_watermark_as_the_latest_updated_date_read(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=30)

    backfill.run_full_pass()

    dump = zuora.dump()
    run = ReconciliationRun.objects.get()
    assert run.state == PassState.FINISHED
    assert run.phase == PassPhase.DONE
    assert run.accounts_watermark == max(_moment(item["updatedDate"]) for item in dump["accounts"])
    assert run.contacts_watermark == max(_moment(item["updatedDate"]) for item in dump["contacts"])
    assert run.accounts_read == 30
    assert run.contacts_read == len(dump["contacts"])


def test_an_interrupted_full_import_resumes_where_it_stopped(seeded_zuora: ZuoraFactory) -> None:
    zuora = seeded_zuora(accounts=400)
    accounts, contacts = zuora_counts(zuora)
    zuora.reset_request_counts()

    def fail_after_three_pages(step: backfill.Progress) -> None:
        if step.batches == 3:
            zuora.set_faults(
                script=[{"fault": "status", "status": 503, "times": 2, "path": "/object-query"}]
            )

    with pytest.raises(ZuoraError):
        # One page per transaction, so that the pass stops between pages.
        backfill.run_full_pass(progress=fail_after_three_pages, write_batch=MAX_PAGE_SIZE)

    interrupted = ReconciliationRun.objects.get()
    assert interrupted.state == PassState.FAILED
    assert interrupted.phase == PassPhase.ACCOUNTS
    # The fourth page is read while the third is written, so it may have been
    # read before the fault was set: the failure then comes on the fifth.
    assert interrupted.accounts_read in {150, 200}
    assert "503" in interrupted.error or "Transient" in interrupted.error
    assert BillingAccount.objects.count() == interrupted.accounts_read

    out = StringIO()
    call_command("zuora_sync", "--full", stdout=out)

    resumed = ReconciliationRun.objects.get()
    assert resumed.pk == interrupted.pk
    assert resumed.state == PassState.FINISHED
    assert differences(zuora) == []
    # The resumed session re-read only the last page before the failure.
    minimum = paging_minimum(accounts) + paging_minimum(contacts)
    assert zuora.request_count(ACCOUNTS_QUERY) + zuora.request_count(CONTACTS_QUERY) <= minimum + 4
    assert resumed.zuora_calls == zuora.request_count()


def test_a_zuora_failure_makes_the_command_exit_non_zero_with_a_summary(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=5)
    zuora.set_faults(
        script=[{"fault": "status", "status": 500, "times": 5, "path": "/object-query"}]
    )

    with pytest.raises(CommandError, match=r"^zuora_sync: failed: "):
        call_command("zuora_sync", "--full", stdout=StringIO())

    assert ReconciliationRun.objects.get().state == PassState.FAILED


def test_a_second_pass_is_refused_while_one_is_running(seeded_zuora: ZuoraFactory) -> None:
    seeded_zuora(accounts=1)
    ReconciliationRun.objects.create(kind=PassKind.FULL)

    with pytest.raises(CommandError, match="is running"):
        call_command("zuora_sync", "--full", stdout=StringIO())


def test_full_pass_queues_objects_gone_from_zuora_and_the_queue_deletes_them(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=20)
    backfill.run_full_pass()
    purged, other = (item["id"] for item in zuora.dump()["accounts"][:2])
    zuora.purge_account(purged)
    extra = zuora.state.create_contact(
        account_key=other, fields={"firstName": "Ines", "lastName": "Moreau"}
    )
    backfill.run_full_pass()
    zuora.state.delete_contact(extra.id)  # not visible to any updatedDate query

    run = backfill.run_full_pass()

    assert run.syncs_requested == 2
    assert set(PendingSync.objects.values_list("kind", "zuora_id")) == {
        ("account", purged),
        ("contact", extra.id),
    }
    run_due()
    assert not BillingAccount.objects.filter(zuora_id=purged).exists()
    assert not BillingAccountContact.objects.filter(zuora_id=extra.id).exists()
    assert differences(zuora) == []


def test_full_pass_repairs_a_change_that_did_not_bump_updated_date(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=10)
    backfill.run_full_pass()
    zuora.configure(bump_updated_date=False)
    # The contact changed longest ago: far outside the incremental lookback.
    contact_id = min(zuora.dump()["contacts"], key=lambda c: _moment(c["updatedDate"]))["id"]
    zuora.state.update_contact(contact_id, {"city": "Trondheim"})

    backfill.run_incremental_pass()
    assert BillingAccountContact.objects.get(zuora_id=contact_id).city != "Trondheim"

    backfill.run_full_pass()

    assert BillingAccountContact.objects.get(zuora_id=contact_id).city == "Trondheim"
    assert differences(zuora) == []


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_pass_writes_as_many_objects_per_transaction_as_its_write_batch(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=120)
    accounts, contacts = zuora_counts(zuora)
    steps: list[backfill.Progress] = []

    backfill.run_full_pass(progress=steps.append, write_batch=70)

    by_phase = [(step.phase, step.objects) for step in steps if step.phase != PassPhase.GONE]
    assert by_phase == [(PassPhase.ACCOUNTS, 70), (PassPhase.ACCOUNTS, 120)] + [
        (PassPhase.CONTACTS, min(read, contacts)) for read in range(70, contacts + 70, 70)
    ]
    assert [step.batches for step in steps] == list(range(1, len(steps) + 1))
    # Zuora's pages are unchanged: batches of 70 span 50-object pages.
    assert zuora.request_count(ACCOUNTS_QUERY) == paging_minimum(accounts)
    assert differences(zuora) == []


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_write_batch_below_one_or_not_a_number_is_refused(value: str) -> None:
    with pytest.raises(CommandError, match="--write-batch"):
        call_command("zuora_sync", "--full", "--write-batch", value, stdout=StringIO())


def test_the_contacts_phase_writes_only_contacts_that_differ_from_what_the_pass_stored(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=40)
    accounts, contacts = zuora_counts(zuora)
    changed = zuora.dump()["accounts"][0]["billToId"]

    def change_after_the_accounts_phase(step: backfill.Progress) -> None:
        if step.phase == PassPhase.ACCOUNTS and step.objects == accounts:
            # The same updatedDate, other values: only a comparison tells.
            zuora.state.update_contact(changed, {"city": "Trondheim"}, bump=False)

    run = backfill.run_full_pass(progress=change_after_the_accounts_phase)

    assert BillingAccountContact.objects.get(zuora_id=changed).city == "Trondheim"
    assert differences(zuora) == []
    # Each contact written once (Bill-To and Sold-To with their accounts, the
    # others in the contacts phase), and the changed one again.
    assert run.contacts_written == contacts + 1
