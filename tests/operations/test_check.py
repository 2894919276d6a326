"""`zuora_sync --check` reports how the local copy differs from Zuora, and writes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import BillingAccount, BillingAccountContact, ReconciliationRun
from billing.sync import backfill
from tests.operations.conftest import (
    ACCOUNTS_QUERY,
    CONTACTS_QUERY,
    TOKEN,
    ZuoraFactory,
    paging_minimum,
    zuora_counts,
)
from tests.sync.conftest import new_account

pytestmark = pytest.mark.django_db


def test_check_finds_planted_differences_without_writing(seeded_zuora: ZuoraFactory) -> None:
    zuora = seeded_zuora(accounts=120)
    backfill.run_full_pass()
    dump = zuora.dump()
    renamed, purged = dump["accounts"][0]["id"], dump["accounts"][1]["id"]
    switched, sold_to = next(
        (item["id"], item["soldToId"])
        for item in dump["accounts"][2:]
        if item["billToId"] != item["soldToId"]
    )
    edited_contact = dump["contacts"][5]["id"]
    # Local edits Zuora does not know of, and Zuora changes we never heard of.
    BillingAccount.objects.filter(zuora_id=renamed).update(name="Edited Here", currency="XXX")
    BillingAccountContact.objects.filter(zuora_id=edited_contact).update(city="Nowhere")
    zuora.state.update_account(switched, bill_to_contact_id=sold_to)
    zuora.purge_account(purged)
    unknown = new_account(zuora, name="Unknown Here")
    before = list(BillingAccount.objects.order_by("pk").values())
    accounts, contacts = zuora_counts(zuora)
    zuora.reset_request_counts()
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("zuora_sync", "--check", stdout=out)

    lines = set(out.getvalue().splitlines())
    assert f"account {renamed}: differs in name, currency" in lines
    assert f"account {switched}: differs in bill_to_contact" in lines
    assert f"account {purged}: gone from Zuora" in lines
    assert f"account {unknown.id}: missing here" in lines
    assert f"contact {edited_contact}: differs in city" in lines
    assert f"contact {unknown.bill_to_id}: missing here" in lines
    assert str(failure.value).startswith("zuora_sync --check: ")
    assert " differences (" in str(failure.value)
    # Nothing written, no pass recorded, and only the paging minimum spent.
    assert list(BillingAccount.objects.order_by("pk").values()) == before
    assert ReconciliationRun.objects.count() == 1
    assert zuora.request_count(ACCOUNTS_QUERY) == paging_minimum(accounts)
    assert zuora.request_count(CONTACTS_QUERY) == paging_minimum(contacts)
    assert zuora.request_count(TOKEN) <= 1


def test_check_without_differences_exits_zero_with_a_summary(seeded_zuora: ZuoraFactory) -> None:
    seeded_zuora(accounts=15)
    backfill.run_full_pass()
    out = StringIO()

    call_command("zuora_sync", "--check", stdout=out)

    assert (
        out.getvalue()
        .strip()
        .splitlines()[-1]
        .startswith("zuora_sync --check: 0 differences (0 accounts, 0 contacts) in 15 accounts")
    )


def test_check_output_names_ids_and_fields_never_personal_data(
    seeded_zuora: ZuoraFactory,
) -> None:
    zuora = seeded_zuora(accounts=3)
    backfill.run_full_pass()
    contact_id = zuora.dump()["contacts"][0]["id"]
    zuora.state.update_contact(contact_id, {"workEmail": "Secret.Person@example.org"})
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("zuora_sync", "--check", stdout=out)

    assert f"contact {contact_id}: differs in work_email" in out.getvalue()
    assert "Secret.Person" not in out.getvalue()
