"""Retry dead syncs, or ask for any Zuora object to be synced again."""

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from billing.models import ZUORA_ID_PATTERN, PendingSync, SyncKind, SyncState
from billing.sync import pending, queue


class Command(BaseCommand):
    help = (
        "Retry dead syncs (all of them with --dead, or the objects named) with a reason "
        "that is kept; naming an object that is not dead queues a fresh sync of it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "objects",
            nargs="*",
            metavar="KIND:ZUORA_ID",
            help="Objects to sync, e.g. account:8a8082c45f9d4fb2015f9e5b7c1f1f4a",
        )
        parser.add_argument("--dead", action="store_true", help="Retry every dead sync.")
        parser.add_argument("--reason", required=True, help="Why; kept on each sync row.")
        parser.add_argument("--operator", default="replay command", help="Who asks.")

    def handle(self, *args: Any, **options: Any) -> None:
        targets = [self._parse(item) for item in options["objects"]]
        if not targets and not options["dead"]:
            raise CommandError("Name objects as KIND:ZUORA_ID, or pass --dead.")
        dead = PendingSync.objects.filter(state=SyncState.DEAD)
        if targets:
            wanted = {(kind.value, zuora_id) for kind, zuora_id in targets}
            dead_rows = [
                (pk, kind, zuora_id)
                for pk, kind, zuora_id in dead.values_list("pk", "kind", "zuora_id")
                if (kind, zuora_id) in wanted or options["dead"]
            ]
        else:
            dead_rows = list(dead.values_list("pk", "kind", "zuora_id"))
        with transaction.atomic():  # revived with their tasks
            revived = pending.revive(
                pks=[pk for pk, _, _ in dead_rows],
                reason=options["reason"],
                operator=options["operator"],
            )
            queue.enqueue_now((kind, zuora_id) for _, kind, zuora_id in dead_rows)
        revived_objects = {(kind, zuora_id) for _, kind, zuora_id in dead_rows}
        fresh = 0
        for kind, zuora_id in targets:
            if (kind.value, zuora_id) in revived_objects:
                continue
            with transaction.atomic():
                queue.request(kind=kind, zuora_id=zuora_id)
            fresh += 1
        self.stdout.write(f"replay: {revived} dead syncs retried, {fresh} syncs requested")

    def _parse(self, item: str) -> tuple[SyncKind, str]:
        kind, _, zuora_id = item.partition(":")
        if kind not in SyncKind.values or not re.fullmatch(ZUORA_ID_PATTERN, zuora_id):
            raise CommandError(f"{item!r}: expected account:<32 hex> or contact:<32 hex>.")
        return SyncKind(kind), zuora_id
