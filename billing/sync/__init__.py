"""Reconciliation of the local copy with Zuora, and the queue of objects to fetch."""
