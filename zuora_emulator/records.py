"""Accounts and contacts as the emulator stores them, and the names each API uses.

Zuora spells the same field differently per API family (``nickname`` in v1,
``nickName`` in Object Query, ...). Records keep one snake_case attribute per field; the
tables here translate request and response names to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Contact attribute -> (v1 REST name, Object Query name).
CONTACT_FIELDS: dict[str, tuple[str, str]] = {
    "first_name": ("firstName", "firstName"),
    "last_name": ("lastName", "lastName"),
    "nickname": ("nickname", "nickName"),
    "description": ("contactDescription", "description"),
    "address1": ("address1", "address1"),
    "address2": ("address2", "address2"),
    "city": ("city", "city"),
    "county": ("county", "county"),
    "state": ("state", "state"),
    "country": ("country", "country"),
    "postal_code": ("zipCode", "postalCode"),
    "tax_region": ("taxRegion", "taxRegion"),
    "work_email": ("workEmail", "workEmail"),
    "personal_email": ("personalEmail", "personalEmail"),
    "work_phone": ("workPhone", "workPhone"),
    "home_phone": ("homePhone", "homePhone"),
    "mobile_phone": ("mobilePhone", "mobilePhone"),
    "other_phone": ("otherPhone", "otherPhone"),
    "other_phone_type": ("otherPhoneType", "otherPhoneType"),
    "fax": ("fax", "fax"),
    "as_bill_to": ("asBillTo", "asBillTo"),
    "as_sold_to": ("asSoldTo", "asSoldTo"),
    "as_ship_to": ("asShipTo", "asShipTo"),
}

# Fields whose unset value the v1 GET samples show as null rather than "" [GETACC].
V1_NULL_WHEN_UNSET = {"country", "county", "tax_region", "other_phone_type"}
CONTACT_BOOL_FIELDS = {"as_bill_to", "as_sold_to", "as_ship_to"}

# Contact request names (either spelling, lower-cased) -> attribute.
CONTACT_INPUT_NAMES: dict[str, str] = {}
for _attr, (_v1, _oq) in CONTACT_FIELDS.items():
    CONTACT_INPUT_NAMES[_v1.lower()] = _attr
    CONTACT_INPUT_NAMES[_oq.lower()] = _attr
CONTACT_INPUT_NAMES["postalcode"] = "postal_code"

CONTACT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "work_email": 80,
    "personal_email": 80,
    "work_phone": 40,
    "home_phone": 40,
    "other_phone": 40,
    "fax": 40,
    "postal_code": 20,
    "country": 64,
}

# Account attribute -> (v1 name in PUT/POST bodies, Object Query name).
ACCOUNT_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "name"),
    "notes": ("notes", "notes"),
    "batch": ("batch", "batch"),
    "bill_cycle_day": ("billCycleDay", "billCycleDay"),
    "crm_id": ("crmId", "crmId"),
    "payment_term": ("paymentTerm", "paymentTerm"),
    "auto_pay": ("autoPay", "autoPay"),
    "invoice_delivery_prefs_email": ("invoiceDeliveryPrefsEmail", "invoiceDeliveryPrefsEmail"),
    "invoice_delivery_prefs_print": ("invoiceDeliveryPrefsPrint", "invoiceDeliveryPrefsPrint"),
    "additional_email_addresses": ("additionalEmailAddresses", "additionalEmailAddresses"),
    "parent_id": ("parentId", "parentId"),
    "sales_rep": ("salesRep", "salesRepName"),
    "purchase_order_number": ("purchaseOrderNumber", "purchaseOrderNumber"),
    "communication_profile_id": ("communicationProfileId", "communicationProfileId"),
    "customer_service_rep_name": ("customerServiceRepName", "customerServiceRepName"),
}
ACCOUNT_INPUT_NAMES: dict[str, str] = {}
for _attr, (_v1, _oq) in ACCOUNT_FIELDS.items():
    ACCOUNT_INPUT_NAMES[_v1.lower()] = _attr
    ACCOUNT_INPUT_NAMES[_oq.lower()] = _attr


@dataclass
class Contact:
    """One Zuora Contact; it always belongs to exactly one account."""

    id: str
    account_id: str
    first_name: str
    last_name: str
    created_date: int
    updated_date: int
    created_by_id: str
    updated_by_id: str
    nickname: str | None = None
    description: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    county: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    tax_region: str | None = None
    work_email: str | None = None
    personal_email: str | None = None
    work_phone: str | None = None
    home_phone: str | None = None
    mobile_phone: str | None = None
    other_phone: str | None = None
    other_phone_type: str | None = None
    fax: str | None = None
    as_bill_to: bool | None = None
    as_sold_to: bool | None = None
    as_ship_to: bool | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Account:
    """One Zuora Account with its Bill-To and Sold-To references."""

    id: str
    account_number: str
    name: str
    currency: str
    status: str
    created_date: int
    updated_date: int
    created_by_id: str
    updated_by_id: str
    bill_to_id: str | None = None
    sold_to_id: str | None = None
    batch: str = "Batch1"
    bill_cycle_day: int = 1
    notes: str | None = None
    crm_id: str | None = None
    payment_term: str = "Due Upon Receipt"
    auto_pay: bool = False
    invoice_delivery_prefs_email: bool = False
    invoice_delivery_prefs_print: bool = False
    additional_email_addresses: list[str] = field(default_factory=list)
    parent_id: str | None = None
    sales_rep: str | None = None
    purchase_order_number: str | None = None
    communication_profile_id: str | None = None
    customer_service_rep_name: str | None = None
    balance: float = 0.0
    custom_fields: dict[str, Any] = field(default_factory=dict)
