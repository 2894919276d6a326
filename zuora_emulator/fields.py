"""Validation of incoming account and contact fields, and the errors it raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zuora_emulator.records import (
    ACCOUNT_INPUT_NAMES,
    CONTACT_BOOL_FIELDS,
    CONTACT_INPUT_NAMES,
    CONTACT_LIMITS,
    Account,
    Contact,
)

# Error categories of Zuora's 8-digit codes [EC] that the state raises.
INVALID_VALUE = 20
UNKNOWN_FIELD = 21
MISSING_FIELD = 22
RULE_RESTRICTION = 30
NOT_FOUND = 40


class StateError(Exception):
    """A refused operation, with the Zuora error category that describes it."""

    def __init__(self, category: int, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


def apply_contact_fields(contact: Contact, values: Mapping[str, Any]) -> None:
    """Set contact fields from v1 or Object Query names; StateError if invalid."""
    for name, value in values.items():
        if name.endswith("__c"):
            contact.custom_fields[name] = value
            continue
        attr = CONTACT_INPUT_NAMES.get(name.lower())
        if attr is None:
            raise StateError(UNKNOWN_FIELD, f"Field '{name}' is not a Contact field.")
        if attr in CONTACT_BOOL_FIELDS:
            if value is not None and not isinstance(value, bool):
                raise StateError(INVALID_VALUE, f"Field '{name}' must be a boolean.")
        elif value is not None:
            if not isinstance(value, str):
                raise StateError(INVALID_VALUE, f"Field '{name}' must be a string.")
            limit = CONTACT_LIMITS.get(attr, 255)
            if len(value) > limit:
                raise StateError(INVALID_VALUE, f"Field '{name}' exceeds {limit} characters.")
        if attr in ("first_name", "last_name") and not value:
            raise StateError(MISSING_FIELD, f"Field '{name}' is required.")
        setattr(contact, attr, value)


def apply_account_fields(account: Account, values: Mapping[str, Any]) -> None:
    """Set account fields from v1 or Object Query names; StateError if invalid."""
    for name, value in values.items():
        if name.endswith("__c"):
            account.custom_fields[name] = value
            continue
        attr = ACCOUNT_INPUT_NAMES.get(name.lower())
        if attr is None:
            raise StateError(UNKNOWN_FIELD, f"Field '{name}' is not an Account field.")
        if attr == "name" and not value:
            raise StateError(MISSING_FIELD, "Field 'name' is required.")
        if attr == "bill_cycle_day" and (not isinstance(value, int) or not 0 <= value <= 31):
            raise StateError(INVALID_VALUE, "Field 'billCycleDay' must be 0-31.")
        if attr == "additional_email_addresses":
            value = _email_list(value)
        setattr(account, attr, value)


def attr_of(v1_name: str) -> str:
    return CONTACT_INPUT_NAMES[v1_name.lower()]


def _email_list(value: Any) -> list[str]:
    # v1 takes a list, Object Query shows a comma-separated string; accept both.
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise StateError(INVALID_VALUE, "Field 'additionalEmailAddresses' must be a list of emails.")
