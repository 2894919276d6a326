"""Admin pages: the synced billing data, and the sync's own bookkeeping."""

from billing.admin import accounts, reconciliation, sync

__all__ = ["accounts", "reconciliation", "sync"]
