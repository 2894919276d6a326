"""Drive a running Zuora emulator through Zuora's own Python SDK (``zuora-sdk``).

Creates an account with Bill-To and Sold-To contacts, adds and edits a contact, switches
the Sold-To, reads everything back through REST v1 and Object Query, and pages through
accounts. Exits non-zero on the first surprise.

    python -m zuora_emulator --port 8081 --accounts 50 &
    python scripts/emulator_sdk_demo.py --base-url http://127.0.0.1:8081

Without ``--client-id``/``--client-secret`` the credentials are read from the emulator's
``/_emulator/health`` endpoint.
"""

from __future__ import annotations

import argparse
import sys

import httpx
from zuora_sdk import Configuration
from zuora_sdk.models import (
    CreateAccountContact,
    CreateAccountRequest,
    CreateContactRequest,
    UpdateAccountRequest,
    UpdateContactRequest,
)
from zuora_sdk.zuora_client import ZuoraClient


def say(line: str) -> None:
    """One line of progress on stdout."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check(condition: bool, what: str) -> None:
    """Stop with a message when the emulator does not answer as Zuora would."""
    if not condition:
        raise SystemExit(f"FAILED: {what}")


def run(base_url: str, client_id: str, client_secret: str) -> None:
    """The demo itself; raises SystemExit on a failed check."""
    client = ZuoraClient(client_id, client_secret, env=None, config=Configuration(host=base_url))
    client.initialize()
    try:
        accounts, contacts = client.accounts_api(), client.contacts_api()
        queries = client.object_queries_api()

        created = accounts.create_account(
            CreateAccountRequest(
                name="Søndergaard & Søn ApS",
                currency="DKK",
                bill_to_contact=CreateAccountContact(
                    first_name="Åse",
                    last_name="Søndergaard",
                    work_email="Aase@Example.DK",
                    city="København",
                    country="Denmark",
                ),
                sold_to_contact=CreateAccountContact(
                    first_name="Jürgen",
                    last_name="Ødegaard",
                    work_email="JURGEN@example.com",
                ),
            )
        )
        check(bool(created.success and created.account_id), "create account")
        say(f"created account {created.account_number} ({created.account_id})")

        detail = accounts.get_account(created.account_number)
        check(detail.basic_info.id == created.account_id, "get account by number")
        check(detail.sold_to_contact.first_name == "Jürgen", "Sold-To contact read back")
        say(
            f"read account: Bill-To {detail.bill_to_contact.work_email}, "
            f"Sold-To {detail.sold_to_contact.work_email}"
        )

        contact = contacts.create_contact(
            CreateContactRequest(
                account_id=created.account_id,
                first_name="Zoë",
                last_name="Brontë",
                work_email="Zoe.Bronte@Example.org",
            )
        )
        check(contact.account_id == created.account_id, "create contact")
        updated = contacts.update_contact(contact.id, UpdateContactRequest(city="Tromsø"))
        check(updated.city == "Tromsø", "update contact")
        check(contacts.get_contact(contact.id).last_name == "Brontë", "get contact")
        say(f"created and edited contact {contact.id}")

        switched = accounts.update_account(
            created.account_id, UpdateAccountRequest(sold_to_contact_id=contact.id)
        )
        check(bool(switched.success), "switch the Sold-To contact")

        expanded = queries.query_account_by_key(created.account_id, expand=["billto", "soldto"])
        check(expanded.sold_to_id == contact.id, "Object Query sees the new Sold-To")
        check(bool(expanded.sold_to and expanded.sold_to.updated_date), "expanded soldTo")
        say(
            f"object query: soldTo={expanded.sold_to.first_name}, "
            f"updatedDate={expanded.updated_date}"
        )

        found = queries.query_contacts(filter=[f"accountid.EQ:{created.account_id}"], page_size=50)
        check(len(found.data) == 3, "three contacts on the account")

        seen, cursor, pages = 0, None, 0
        while True:
            page = queries.query_accounts(page_size=20, cursor=cursor)
            seen += len(page.data)
            pages += 1
            cursor = page.next_page
            if not cursor:
                break
        say(f"paged through {seen} accounts in {pages} pages")
        check(seen >= 1, "paging")
    finally:
        client.stop_auto_auth()
    say("OK")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, fetch credentials if needed, run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8081")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    args = parser.parse_args(argv)
    client_id, client_secret = args.client_id, args.client_secret
    if not (client_id and client_secret):
        health = httpx.get(f"{args.base_url}/_emulator/health", timeout=10).json()
        client_id, client_secret = health["clientId"], health["clientSecret"]
    run(args.base_url.rstrip("/"), client_id, client_secret)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
