"""Run Sold-To provisioning for every billing account (or one): idempotent, safe to repeat."""

from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from billing.models import BillingAccount
from customers.provisioning import ProvisioningStatus, provision_sold_to


class Command(BaseCommand):
    help = (
        "Give each billing account's Sold-To contact portal access and withdraw Sold-To "
        "access from former ones. Running it again changes nothing; use it after enabling "
        "SOLD_TO_PROVISIONING_ENABLED, or to retry a failed provisioning."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--account", metavar="ZUORA_ID", help="Only the account with this Zuora id."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SOLD_TO_PROVISIONING_ENABLED:
            raise CommandError(
                "Sold-To provisioning is off; set SOLD_TO_PROVISIONING_ENABLED=1 to run it."
            )
        accounts = BillingAccount.objects.order_by("pk")
        if options["account"]:
            accounts = accounts.filter(zuora_id=options["account"])
            if not accounts.exists():
                raise CommandError(f"No local billing account has Zuora id {options['account']}.")
        statuses: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        failed = 0
        for account_id in accounts.values_list("pk", flat=True).iterator():
            try:
                outcome = provision_sold_to(account_id=account_id)
            except DatabaseError as error:
                failed += 1
                self.stderr.write(f"account {account_id}: provisioning failed: {error}")
                continue
            statuses[outcome.status] += 1
            totals["created"] += outcome.created_customer
            totals["granted"] += outcome.granted
            totals["activated"] += outcome.activated
            totals["withdrawn"] += outcome.withdrawn
        summary = (
            f"provision_sold_to: {sum(statuses.values()) + failed} accounts, "
            f"{totals['created']} customers created, {totals['granted']} granted, "
            f"{totals['activated']} activated, {totals['withdrawn']} withdrawn, "
            f"{statuses[ProvisioningStatus.AWAITING_VERIFICATION]} awaiting verification, "
            f"{statuses[ProvisioningStatus.SKIPPED]} skipped (no usable Sold-To email), "
            f"{failed} failed"
        )
        if failed:
            raise CommandError(summary)
        self.stdout.write(summary)
