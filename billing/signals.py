"""Signals other apps listen to; sent inside the sync's transaction, so that what a
listener writes commits with the sync (a listener that must not fail it uses a savepoint)."""

from django.dispatch import Signal

# Sent when an account's Sold-To contact is set, replaced, or has a new email.
# Arguments: account_id (local BillingAccount pk), previous_contact_id and
# contact_id (local BillingAccountContact pks or None).
sold_to_changed = Signal()
