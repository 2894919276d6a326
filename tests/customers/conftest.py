"""Helpers for provisioning tests: accounts whose Sold-To has a given address."""

import re
from typing import Any

from django.core import mail

from billing.models import BillingAccount, BillingAccountContact
from tests.factories import BillingAccountContactFactory, BillingAccountFactory


def account_with_sold_to(email: str = "grace@example.com", **contact: Any) -> BillingAccount:
    account = BillingAccountFactory()
    sold_to = BillingAccountContactFactory(
        billing_account=account,
        work_email=email,
        **{"first_name": "Grace", "last_name": "Hopper", **contact},
    )
    account.sold_to_contact = sold_to
    account.save(update_fields=["sold_to_contact"])
    return account


def new_sold_to(account: BillingAccount, email: str, **contact: Any) -> BillingAccountContact:
    """Another contact of the account becomes its Sold-To."""
    sold_to = BillingAccountContactFactory(billing_account=account, work_email=email, **contact)
    account.sold_to_contact = sold_to
    account.save(update_fields=["sold_to_contact"])
    return sold_to


def link_in(message: mail.EmailMessage) -> str:
    """The set-password link of an email, as a path the test client can open."""
    found = re.search(r"https?://[^/\s]+(/portal/set-password/\S+)", str(message.body))
    assert found, message.body
    return found.group(1)
