"""Signals other apps listen to; sent inside the sync's transaction, so that what a
listener writes commits with the sync (a listener that must not fail it uses a savepoint)."""

from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(frozen=True)
class SoldToChange:
    """An account whose Sold-To contact was set, replaced, or has a new email address."""

    account_id: int  # local BillingAccount pk
    previous_contact_id: int | None  # local BillingAccountContact pks
    contact_id: int | None


# Sent once per reconciliation (a batch of the import, one object's sync) that
# changed the Sold-To of one or more accounts, so that listeners can handle
# them together. Argument: changes, a tuple of SoldToChange, one per account.
sold_to_changed = Signal()
