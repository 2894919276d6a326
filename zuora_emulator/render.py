"""JSON shapes of accounts and contacts, per API family (v1 REST or Object Query)."""

from __future__ import annotations

from typing import Any

from zuora_emulator.clock import Clock
from zuora_emulator.records import (
    ACCOUNT_FIELDS,
    CONTACT_BOOL_FIELDS,
    CONTACT_FIELDS,
    V1_NULL_WHEN_UNSET,
    Account,
    Contact,
)


def contact_v1(contact: Contact, account_number: str) -> dict[str, Any]:
    """A contact as ``GET /v1/contacts/{id}`` shows it: no timestamps [GETCON]."""
    body: dict[str, Any] = {
        "id": contact.id,
        "accountId": contact.account_id,
        "accountNumber": account_number,
    }
    for attr, (v1_name, _) in CONTACT_FIELDS.items():
        value = getattr(contact, attr)
        if attr in CONTACT_BOOL_FIELDS:
            if value is not None:
                body[v1_name] = value
        elif value is None and attr not in V1_NULL_WHEN_UNSET:
            # The v1 samples show unset strings as "" (and a few as null) [GETACC].
            body[v1_name] = ""
        else:
            body[v1_name] = value
    body["postalCode"] = body["zipCode"]
    body.update(contact.custom_fields)
    return body


def account_v1(account: Account, bill_to: Contact | None, sold_to: Contact | None) -> dict:
    """An account as ``GET /v1/accounts/{key}`` shows it [GETACC]."""
    basic_info: dict[str, Any] = {
        "id": account.id,
        "accountNumber": account.account_number,
        "name": account.name,
        "status": account.status,
        "batch": account.batch,
        "crmId": account.crm_id or "",
        "notes": account.notes or "",
        "parentId": account.parent_id,
        "partnerAccount": False,
        "purchaseOrderNumber": account.purchase_order_number,
        "salesRep": account.sales_rep or "",
        "communicationProfileId": account.communication_profile_id,
        "customerServiceRepName": account.customer_service_rep_name,
        "invoiceTemplateId": None,
        "defaultPaymentMethodId": None,
        "lastMetricsUpdate": None,
        "sequenceSetId": None,
        "tags": None,
    }
    basic_info.update(account.custom_fields)
    empty = {}
    return {
        "basicInfo": basic_info,
        "billingAndPayment": {
            "billCycleDay": account.bill_cycle_day,
            "currency": account.currency,
            "paymentTerm": account.payment_term,
            "paymentGateway": None,
            "invoiceDeliveryPrefsEmail": account.invoice_delivery_prefs_email,
            "invoiceDeliveryPrefsPrint": account.invoice_delivery_prefs_print,
            "additionalEmailAddresses": list(account.additional_email_addresses),
            "autoPay": account.auto_pay,
            "defaultPaymentMethodId": None,
        },
        "metrics": {
            "balance": account.balance,
            "totalInvoiceBalance": account.balance,
            "creditBalance": 0.0,
            "contractedMrr": 0.0,
            "totalDebitMemoBalance": 0.0,
            "unappliedCreditMemoAmount": 0.0,
            "unappliedPaymentAmount": 0.0,
            "reservedPaymentAmount": 0.0,
            "currency": account.currency,
        },
        "billToContact": contact_v1(bill_to, account.account_number) if bill_to else empty,
        "soldToContact": contact_v1(sold_to, account.account_number) if sold_to else empty,
        "success": True,
    }


def contact_oq(contact: Contact, clock: Clock) -> dict[str, Any]:
    """A contact as Object Query shows it, nulls included [QC][sdk:expanded_contact]."""
    body: dict[str, Any] = {
        "id": contact.id,
        "accountId": contact.account_id,
        "createdById": contact.created_by_id,
        "createdDate": clock.render(contact.created_date),
        "updatedById": contact.updated_by_id,
        "updatedDate": clock.render(contact.updated_date),
    }
    for attr, (_, oq_name) in CONTACT_FIELDS.items():
        body[oq_name] = getattr(contact, attr)
    body.update(contact.custom_fields)
    return body


def account_oq(account: Account, clock: Clock) -> dict[str, Any]:
    """An account as Object Query shows it, nulls included [QA][sdk:expanded_account]."""
    body: dict[str, Any] = {
        "id": account.id,
        "accountNumber": account.account_number,
        "createdById": account.created_by_id,
        "createdDate": clock.render(account.created_date),
        "updatedById": account.updated_by_id,
        "updatedDate": clock.render(account.updated_date),
        "status": account.status,
        "currency": account.currency,
        "billToId": account.bill_to_id,
        "soldToId": account.sold_to_id,
        "shipToId": None,
        "balance": account.balance,
        "creditBalance": 0.0,
        "totalInvoiceBalance": account.balance,
        "unappliedBalance": 0.0,
        "mrr": 0.0,
        "defaultPaymentMethodId": None,
        "invoiceTemplateId": None,
        "taxExemptStatus": "No",
    }
    for attr, (_, oq_name) in ACCOUNT_FIELDS.items():
        body[oq_name] = getattr(account, attr)
    # Object Query shows the additional addresses as one comma-separated string.
    body["additionalEmailAddresses"] = ",".join(account.additional_email_addresses) or None
    body.update(account.custom_fields)
    return body
