"""Whether the local copy equals Zuora's state: accounts, contacts, references, Sold-To access.

Runs in the launcher's process with Django set up on the service's database.
Differences name objects by Zuora id, never by their (personal) values.
"""

from collections import Counter
from typing import Any


def local_differences(state: dict[str, Any]) -> list[str]:
    """Everything in which the local copy differs from this emulator state dump."""
    from billing.sync.compare import account_differences, contact_differences
    from zuora.models import parse_account, parse_contact

    accounts = [parse_account(item) for item in state["accounts"]]
    contacts = [parse_contact(item) for item in state["contacts"]]
    found = account_differences(accounts, complete=True) + contact_differences(
        contacts, complete=True
    )
    return [str(difference) for difference in found] + membership_differences(state)


def expected_sold_to_access(state: dict[str, Any]) -> dict[str, str]:
    """Account Zuora id → the (lower-cased, normalised) email its Sold-To signs in with.

    The rules of `customers.provisioning`: the Sold-To's work email, else its
    personal one, as stored (cut to the column length); an account whose
    Sold-To has none, or an invalid one, gives nobody access.
    """
    from billing.sync.reconcile import contact_fields
    from customers.email_address import InvalidEmailAddress, normalise_email
    from zuora.models import parse_contact

    contacts = {item["id"]: parse_contact(item) for item in state["contacts"]}
    expected = {}
    for account in state["accounts"]:
        contact = contacts.get(account.get("soldToId") or "")
        if contact is None:
            continue
        stored = contact_fields(contact)
        raw = (stored["work_email"] or stored["personal_email"]).strip()
        if not raw:
            continue
        try:
            expected[account["id"]] = normalise_email(raw).lower()
        except InvalidEmailAddress:
            continue
    return expected


def membership_differences(state: dict[str, Any]) -> list[str]:
    """Sold-To memberships that are missing, doubled, for the wrong customer, or left over.

    A membership waiting for the customer to confirm their address counts as present.
    """
    from billing.models import BillingAccountMembership, MembershipProvenance

    expected = expected_sold_to_access(state)
    held = Counter(
        (account_zuora_id, email.lower())
        for account_zuora_id, email in BillingAccountMembership.objects.filter(
            provenance=MembershipProvenance.SOLD_TO
        ).values_list("billing_account__zuora_id", "customer__email")
    )
    found = []
    for account_zuora_id, email in sorted(expected.items()):
        count = held.pop((account_zuora_id, email), 0)
        if count == 0:
            found.append(f"membership {account_zuora_id}: Sold-To has no access")
        elif count > 1:
            found.append(f"membership {account_zuora_id}: Sold-To has {count} memberships")
    found.extend(
        f"membership {account_zuora_id}: access for someone who is not the Sold-To"
        for account_zuora_id, _ in sorted(held)
    )
    return found
