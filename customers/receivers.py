"""Reactions to other apps' signals; each hands over to a service at once."""

import logging
from typing import Any

from customers.provisioning import provision_sold_to

logger = logging.getLogger(__name__)


def provision_on_sold_to_change(sender: type, *, account_id: int, **kwargs: Any) -> None:
    """The sync is committing a new Sold-To (or a new Sold-To email): provision it.

    Runs inside the sync's transaction, so access changes commit with the
    data. The sync must never fail because of this: provisioning runs in its
    own savepoint, and a failure is logged with what to run to retry it.
    """
    try:
        provision_sold_to(account_id=account_id)
    except Exception:
        logger.exception(
            "Sold-To provisioning failed; `manage.py provision_sold_to --account` retries it",
            extra={"account_id": account_id},
        )
