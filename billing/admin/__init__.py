"""Admin pages: the synced billing data, and the sync's own bookkeeping."""

from billing.admin import accounts, sync

__all__ = ["accounts", "sync"]
