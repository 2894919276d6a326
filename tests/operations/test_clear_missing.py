"""`clear_missing_zuora_accounts` after a sandbox refresh: a dry run, then --apply."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import (
    BillingAccount,
    BillingAccountContact,
    BillingAccountMembership,
    MembershipProvenance,
    PassKind,
    PassState,
    ReconciliationRun,
)
from billing.sync import backfill
from billing.sync.missing import clear_missing_accounts
from customers.models import Customer
from tests.operations.conftest import ACCOUNTS_QUERY, TOKEN, ZuoraFactory, paging_minimum
from tests.sync.conftest import differences
from zuora import ZuoraError
from zuora_emulator.testing import EmulatorHandle

pytestmark = pytest.mark.django_db


def refresh_sandbox(zuora: EmulatorHandle, *, every: int) -> list[str]:
    """Purge every `every`-th account, as a sandbox refresh loses what was made since."""
    purged = [item["id"] for item in zuora.dump()["accounts"][::every]]
    for account_id in purged:
        zuora.purge_account(account_id)
    return purged


def grant_membership(account: BillingAccount, email: str) -> None:
    customer = Customer.objects.create_user(email=email, password="not-used-1234")
    BillingAccountMembership.objects.create(
        customer=customer, billing_account=account, provenance=MembershipProvenance.MANUAL
    )


def test_dry_run_lists_accounts_missing_from_zuora_and_deletes_nothing(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=130)
    backfill.run_full_pass()
    purged = refresh_sandbox(zuora, every=5)
    contacts_before = BillingAccountContact.objects.count()
    zuora.reset_request_counts()
    out = StringIO()

    call_command("clear_missing_zuora_accounts", stdout=out)

    lines = out.getvalue().strip().splitlines()
    listed = {line.split()[-1] for line in lines if line.startswith("would delete: account ")}
    assert listed == set(purged)
    assert lines[-1].startswith(
        f"clear_missing_zuora_accounts: dry run: 130 accounts checked, {len(purged)} missing"
    )
    assert BillingAccount.objects.count() == 130
    assert BillingAccountContact.objects.count() == contacts_before
    assert not ReconciliationRun.objects.filter(kind=PassKind.CLEAR_MISSING).exists()
    # One id.IN query per 50 local accounts, plus the token.
    assert zuora.request_count(ACCOUNTS_QUERY) == paging_minimum(130)
    assert zuora.request_count(TOKEN) <= 1
    assert lines[-1].endswith(f", {zuora.request_count()} Zuora calls")


def test_apply_deletes_missing_accounts_with_their_contacts_and_memberships(
    seeded_zuora: ZuoraFactory, settings: Any
) -> None:
    # Only the memberships granted below, not those of Sold-To provisioning.
    settings.SOLD_TO_PROVISIONING_ENABLED = False
    zuora = seeded_zuora(accounts=130)
    backfill.run_full_pass()
    purged = refresh_sandbox(zuora, every=5)
    gone = BillingAccount.objects.get(zuora_id=purged[0])
    kept = BillingAccount.objects.exclude(zuora_id__in=purged).first()
    grant_membership(gone, "gone@example.com")
    grant_membership(kept, "kept@example.com")
    gone_contacts = BillingAccountContact.objects.filter(billing_account__zuora_id__in=purged)
    contact_count = gone_contacts.count()
    out = StringIO()

    call_command("clear_missing_zuora_accounts", "--apply", stdout=out)

    assert not BillingAccount.objects.filter(zuora_id__in=purged).exists()
    assert not gone_contacts.exists()
    assert BillingAccount.objects.count() == 130 - len(purged)
    assert list(BillingAccountMembership.objects.values_list("billing_account", flat=True)) == [
        kept.pk
    ]
    assert Customer.objects.filter(email="gone@example.com").exists()
    assert differences(zuora) == []
    summary = out.getvalue().strip().splitlines()[-1]
    assert summary.startswith(
        f"clear_missing_zuora_accounts: 130 accounts checked, {len(purged)} missing from "
        f"Zuora, {len(purged)} accounts, {contact_count} contacts and 1 memberships deleted"
    )
    run = ReconciliationRun.objects.get(kind=PassKind.CLEAR_MISSING)
    assert run.state == PassState.FINISHED
    assert (run.accounts_missing, run.accounts_deleted) == (len(purged), len(purged))


def test_a_zuora_error_stops_the_sweep_before_deleting_anything_unconfirmed(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=30)
    backfill.run_full_pass()
    refresh_sandbox(zuora, every=3)
    zuora.set_faults(
        script=[{"fault": "status", "status": 503, "times": 5, "path": "/object-query"}]
    )

    with pytest.raises(CommandError, match="nothing unconfirmed deleted"):
        call_command("clear_missing_zuora_accounts", "--apply", stdout=StringIO())

    assert BillingAccount.objects.count() == 30
    assert ReconciliationRun.objects.get(kind=PassKind.CLEAR_MISSING).state == PassState.FAILED


def test_an_interrupted_sweep_resumes_after_the_last_batch_it_confirmed(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=100)
    backfill.run_full_pass()
    purged = refresh_sandbox(zuora, every=4)
    first_batch = set(BillingAccount.objects.order_by("pk").values_list("zuora_id", flat=True)[:50])

    def fail_next_batch(missing: object, result: object) -> None:
        zuora.set_faults(
            script=[{"fault": "status", "status": 500, "times": 5, "path": "/object-query"}]
        )

    with pytest.raises(ZuoraError):
        clear_missing_accounts(apply=True, on_batch=fail_next_batch)

    confirmed, unchecked = first_batch & set(purged), set(purged) - first_batch
    assert confirmed
    assert unchecked
    assert not BillingAccount.objects.filter(zuora_id__in=confirmed).exists()
    assert BillingAccount.objects.filter(zuora_id__in=unchecked).count() == len(unchecked)
    zuora.clear_faults()
    zuora.reset_request_counts()

    result = clear_missing_accounts(apply=True)

    assert not BillingAccount.objects.filter(zuora_id__in=purged).exists()
    assert result.checked == 100
    assert result.accounts_deleted == len(purged)
    # Only the second batch was checked again.
    assert zuora.request_count(ACCOUNTS_QUERY) == 1
    assert ReconciliationRun.objects.filter(kind=PassKind.CLEAR_MISSING).count() == 1
