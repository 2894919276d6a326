"""Billing data synced from Zuora, and the bookkeeping of the sync itself."""

from billing.models.accounts import (
    ZUORA_ID_PATTERN,
    AccountStatus,
    BillingAccount,
    BillingAccountContact,
    BillingAccountMembership,
    MembershipProvenance,
    MembershipRole,
    zuora_id_validator,
)
from billing.models.reconciliation import (
    PassKind,
    PassPhase,
    PassState,
    ReconciliationRun,
)
from billing.models.sync import CalloutReceipt, PendingSync, SyncKind, SyncState

__all__ = [
    "ZUORA_ID_PATTERN",
    "AccountStatus",
    "BillingAccount",
    "BillingAccountContact",
    "BillingAccountMembership",
    "CalloutReceipt",
    "MembershipProvenance",
    "MembershipRole",
    "PassKind",
    "PassPhase",
    "PassState",
    "PendingSync",
    "ReconciliationRun",
    "SyncKind",
    "SyncState",
    "zuora_id_validator",
]
