"""Object Query lists: cursor paging across many pages, filters, sort and id batches."""

import pytest

from tests.zuora_client.emulated_zuora import ACCOUNTS_ROUTE, CONTACTS_ROUTE, create_account

ACCOUNTS = 95


@pytest.fixture
def accounts(emulator):
    """ACCOUNTS accounts, created a minute apart on the emulator's clock."""
    created = []
    for n in range(ACCOUNTS):
        created.append(create_account(emulator, n))
        emulator.state.clock.advance(60)
    return created


def test_iter_accounts_follows_the_cursor_across_pages(emulator, client, accounts):
    seen = list(client.iter_accounts(page_size=10))

    assert sorted(a.id for a in seen) == sorted(a.id for a in accounts)
    assert emulator.request_count(ACCOUNTS_ROUTE) == 10
    assert all(a.bill_to is not None and a.sold_to is not None for a in seen)


def test_iter_accounts_streams_one_page_at_a_time(emulator, client, accounts):
    stream = client.iter_accounts(page_size=10)

    first = [next(stream) for _ in range(10)]

    assert len({a.id for a in first}) == 10
    assert emulator.request_count(ACCOUNTS_ROUTE) == 1
    stream.close()


def test_iter_accounts_without_contacts(emulator, client, accounts):
    seen = list(client.iter_accounts(page_size=50, expand_contacts=False))

    assert len(seen) == ACCOUNTS
    assert all(a.bill_to is None and a.bill_to_id for a in seen)


def test_updated_since_returns_later_accounts_in_ascending_order(emulator, client, accounts):
    watermark = client.get_account(accounts[40].id).updated_date

    seen = list(client.iter_accounts(updated_since=watermark, page_size=7))

    assert [a.id for a in seen] == [a.id for a in accounts[40:]]
    dates = [a.updated_date for a in seen]
    assert dates == sorted(dates)


def test_iter_accounts_by_ids_queries_in_batches(emulator, client, accounts):
    wanted = [a.id for a in accounts[:60]]

    seen = list(client.iter_accounts(ids=wanted))

    assert sorted(a.id for a in seen) == sorted(wanted)
    assert emulator.request_count(ACCOUNTS_ROUTE) == 2


def test_existing_account_ids_checks_many_ids_in_few_calls(emulator, client, accounts):
    missing = [f"{n:032x}" for n in range(1, 11)]

    found = client.existing_account_ids([a.id for a in accounts] + missing)

    assert found == {a.id for a in accounts}
    assert emulator.request_count(ACCOUNTS_ROUTE) == 3  # 105 ids, 50 per call


def test_iter_contacts_pages_through_all_contacts(emulator, client, accounts):
    seen = list(client.iter_contacts(page_size=25))

    assert len({c.id for c in seen}) == 2 * ACCOUNTS
    assert emulator.request_count(CONTACTS_ROUTE) == 8


def test_iter_contacts_of_one_account(emulator, client, accounts):
    account = accounts[17]

    seen = list(client.iter_contacts(account_id=account.id))

    assert {c.id for c in seen} == {account.bill_to_id, account.sold_to_id}
    assert {c.account_id for c in seen} == {account.id}


def test_iter_contacts_updated_since_sees_an_edited_contact(emulator, client, accounts):
    emulator.state.clock.advance(3600)
    edited = emulator.state.update_contact(accounts[3].sold_to_id, {"city": "Oslo"})
    since = client.get_contact(edited.id).updated_date

    seen = list(client.iter_contacts(updated_since=since))

    assert [c.id for c in seen] == [edited.id]
    assert seen[0].city == "Oslo"
