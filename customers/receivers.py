"""Reactions to other apps' signals; each hands over to a service at once."""

import logging
from collections.abc import Sequence
from typing import Any

from billing.signals import SoldToChange
from customers.provisioning import provision_sold_to, provision_sold_to_accounts

logger = logging.getLogger(__name__)


def provision_on_sold_to_change(
    sender: type, *, changes: Sequence[SoldToChange], **kwargs: Any
) -> None:
    """The sync is committing new Sold-Tos (or new Sold-To emails): provision them together.

    Runs inside the sync's transaction, so access changes commit with the
    data. The sync must never fail because of this: provisioning runs in its
    own savepoint; when the batch fails, each account is retried in a savepoint
    of its own, and a failure is logged with what to run to retry it.
    """
    account_ids = [change.account_id for change in changes]
    if len(account_ids) > 1:
        try:
            provision_sold_to_accounts(account_ids)
        except Exception:
            logger.exception(
                "Sold-To provisioning of a batch failed; retrying account by account",
                extra={"accounts": len(account_ids)},
            )
        else:
            return
    for account_id in account_ids:
        try:
            provision_sold_to(account_id=account_id)
        except Exception:
            logger.exception(
                "Sold-To provisioning failed; `manage.py provision_sold_to --account` retries it",
                extra={"account_id": account_id},
            )
