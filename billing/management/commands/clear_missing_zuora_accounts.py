"""Find local billing accounts that Zuora no longer has and, with --apply, delete them."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from billing.sync.missing import MissingAccount, SweepResult, clear_missing_accounts
from billing.sync.runs import PassInProgress
from zuora import ZuoraError


class Command(BaseCommand):
    help = (
        "Check every local billing account against Zuora (one call per 50 accounts) and list "
        "those Zuora no longer has, e.g. after a sandbox refresh. With --apply, delete them "
        "with their contacts and the memberships that depended on them, one batch per "
        "transaction; an interrupted run resumes where it stopped. A Zuora error stops it, "
        "deleting nothing that Zuora has not confirmed missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--apply", action="store_true", help="Delete them (default: only list them)."
        )
        parser.add_argument(
            "--restart",
            action="store_true",
            help="With --apply, start from the first account instead of resuming.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        apply = options["apply"]
        verb = "deleted" if apply else "would delete"

        def report(missing: list[MissingAccount], result: SweepResult) -> None:
            for account in missing:
                self.stdout.write(f"{verb}: account {account.account_number} {account.zuora_id}")

        try:
            result = clear_missing_accounts(
                apply=apply, resume=not options["restart"], on_batch=report
            )
        except (ZuoraError, DatabaseError, PassInProgress) as error:
            raise CommandError(
                "clear_missing_zuora_accounts: stopped, nothing unconfirmed deleted; "
                f"run again to resume: {error}"
            ) from error
        if apply:
            self.stdout.write(
                f"clear_missing_zuora_accounts: {result.checked} accounts checked, "
                f"{result.missing} missing from Zuora, {result.accounts_deleted} accounts, "
                f"{result.contacts_deleted} contacts and {result.memberships_deleted} "
                f"memberships deleted, {result.zuora_calls} Zuora calls"
            )
        else:
            self.stdout.write(
                f"clear_missing_zuora_accounts: dry run: {result.checked} accounts checked, "
                f"{result.missing} missing from Zuora would be deleted (pass --apply), "
                f"{result.zuora_calls} Zuora calls"
            )
