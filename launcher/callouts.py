"""The callout definitions a Zuora admin sets up for this service (see docs/zuora_callouts.md)."""

from typing import Any

ACCOUNT_EVENTS = ("AccountCreated", "AccountUpdated", "AccountBillToSoldToChanged")
CONTACT_EVENTS = ("ContactCreated", "ContactUpdated", "ContactDeleted")


def callout_definitions(
    app_url: str, *, username: str, password: str, preemptive: bool = False
) -> list[dict[str, Any]]:
    """One notification definition per event, in Zuora's field names, aimed at our endpoints."""
    auth = {
        "calloutAuth": {"username": username, "password": password, "preemptive": preemptive},
        "requiredAuth": True,
    }
    account = {
        "calloutBaseurl": f"{app_url}/api/v1/zuora/callouts/sync_account",
        "calloutParams": {"AccountId": "{{DataSource.Account.Id}}"},
    }
    contact = {
        "calloutBaseurl": f"{app_url}/api/v1/zuora/callouts/sync_account_contact",
        "calloutParams": {
            "ContactId": "{{DataSource.Contact.Id}}",
            "AccountId": "{{DataSource.Account.Id}}",
        },
    }
    return [
        {"name": event, "eventTypeName": event, **target, **auth}
        for events, target in ((ACCOUNT_EVENTS, account), (CONTACT_EVENTS, contact))
        for event in events
    ]
