"""Reconcile the local copy with Zuora: full import, incremental pass, check, or a watch loop."""

import argparse
import re
import signal
import time
from collections import Counter
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from billing.management.commands._progress import ProgressLine
from billing.models import PassPhase, ReconciliationRun
from billing.sync import backfill
from billing.sync.check import differences_from_zuora
from billing.sync.runs import PassInProgress
from billing.sync.zuora_access import zuora_client
from config.heap import settle_start_up_objects
from zuora import ZuoraError
from zuora.query import MAX_PAGE_SIZE

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> datetime:
    """An ISO 8601 time (without an offset: in TIME_ZONE), or a span back from now: 90m, 2h, 1d."""
    if match := _DURATION.fullmatch(text.strip()):
        amount, unit = match.groups()
        return timezone.now() - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected e.g. 2025-03-13T14:30:46-07:00, or 90m, 2h, 1d"
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected at least 1")
    return value


class Command(BaseCommand):
    help = (
        "Reconcile the local copy with Zuora through Object Query. By default an incremental "
        "pass from the stored watermark (minus ZUORA_SYNC_LOOKBACK_SECONDS); --full reads "
        "every account and contact and queues local objects Zuora no longer has; --check "
        "only reports differences (exit 1 when there are any); --watch repeats incremental "
        "passes, with a full one every ZUORA_SYNC_FULL_EVERY seconds. An interrupted pass "
        "resumes where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--full", action="store_true", help="Import every account and contact.")
        mode.add_argument(
            "--since",
            type=parse_since,
            help="Incremental pass from this time instead of the stored watermark "
            "(ISO 8601, or 90m, 2h, 1d back from now).",
        )
        mode.add_argument(
            "--check", action="store_true", help="Report differences with Zuora; write nothing."
        )
        mode.add_argument(
            "--watch", action="store_true", help="Run passes until stopped (SIGTERM or Ctrl-C)."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between passes with --watch (default: ZUORA_SYNC_WATCH_INTERVAL).",
        )
        parser.add_argument(
            "--passes",
            type=int,
            default=None,
            help="With --watch, stop after this many passes (default: never).",
        )
        parser.add_argument(
            "--page-size",
            type=int,
            default=MAX_PAGE_SIZE,
            choices=range(1, MAX_PAGE_SIZE + 1),
            metavar=f"1..{MAX_PAGE_SIZE}",
            help=f"Objects per Zuora page (default {MAX_PAGE_SIZE}).",
        )
        parser.add_argument(
            "--write-batch",
            type=_positive,
            default=backfill.WRITE_BATCH,
            metavar="N",
            help="Objects written per database transaction by a pass (default "
            f"{backfill.WRITE_BATCH}); an interrupted pass re-reads at most one batch.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settle_start_up_objects(collect_less_often=True)
        self.page_size = options["page_size"]
        self.write_batch = options["write_batch"]
        if options["check"]:
            self._check()
        elif options["watch"]:
            interval = options["interval"] or settings.ZUORA_SYNC_WATCH_INTERVAL
            self._watch(interval=interval, passes=options["passes"])
        else:
            try:
                self._pass(full=options["full"], since=options["since"])
            except (ZuoraError, DatabaseError, PassInProgress, backfill.NoWatermark) as error:
                raise CommandError(f"zuora_sync: failed: {error}") from error

    def _pass(self, *, full: bool, since: datetime | None = None) -> ReconciliationRun:
        client = zuora_client()
        calls_before = sum(client.call_counts().values())
        progress = ProgressLine(self.stdout)

        def show(step: backfill.Progress) -> None:
            noun = "syncs requested" if step.phase == PassPhase.GONE else "read"
            progress.update(
                f"{step.kind} pass: {step.phase} {step.objects} {noun}", step=step.batches
            )

        try:
            if full:
                run = backfill.run_full_pass(
                    progress=show, page_size=self.page_size, write_batch=self.write_batch
                )
            else:
                run = backfill.run_incremental_pass(
                    since=since,
                    progress=show,
                    page_size=self.page_size,
                    write_batch=self.write_batch,
                )
        finally:
            progress.done()
        calls = sum(client.call_counts().values()) - calls_before
        self.stdout.write(
            f"zuora_sync: {run.kind} pass #{run.pk} finished: "
            f"{run.accounts_read} accounts and {run.contacts_read} contacts read, "
            f"{run.accounts_written} account and {run.contacts_written} contact writes, "
            f"{run.syncs_requested} syncs requested, {calls} Zuora calls"
        )
        return run

    def _check(self) -> None:
        client = zuora_client()
        calls_before = sum(client.call_counts().values())
        progress = ProgressLine(self.stdout)
        pages = Counter[str]()
        read: dict[str, int] = {"account": 0, "contact": 0}
        found = Counter[str]()

        def show(kind: str, objects: int) -> None:
            pages[kind] += 1
            read[kind] = objects
            progress.update(f"check: {objects} {kind}s read", step=pages[kind])

        try:
            for difference in differences_from_zuora(on_page=show, page_size=self.page_size):
                progress.done()
                self.stdout.write(str(difference))
                found[difference.kind] += 1
        except (ZuoraError, DatabaseError) as error:
            raise CommandError(f"zuora_sync --check: failed: {error}") from error
        finally:
            progress.done()
        calls = sum(client.call_counts().values()) - calls_before
        summary = (
            f"zuora_sync --check: {found.total()} differences ({found['account']} accounts, "
            f"{found['contact']} contacts) in {read['account']} accounts and "
            f"{read['contact']} contacts read, {calls} Zuora calls"
        )
        if found:
            raise CommandError(summary)
        self.stdout.write(summary)

    def _watch(self, *, interval: float, passes: int | None) -> None:
        previous = signal.signal(signal.SIGTERM, _interrupt)
        outcomes = Counter[str]()
        try:
            while passes is None or outcomes.total() < passes:
                full = backfill.full_pass_due()
                try:
                    self._pass(full=full)
                    outcomes["finished"] += 1
                except PassInProgress as error:
                    # E.g. a backfill started by hand: its pass does the work.
                    self.stdout.write(f"zuora_sync --watch: skipped: {error}")
                    outcomes["skipped"] += 1
                except (ZuoraError, DatabaseError) as error:
                    # The pass recorded where it stopped; the next one resumes it.
                    self.stderr.write(f"zuora_sync --watch: pass failed, will resume: {error}")
                    outcomes["failed"] += 1
                if passes is not None and outcomes.total() >= passes:
                    break
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("zuora_sync --watch: stopped")
        finally:
            signal.signal(signal.SIGTERM, previous)
        failed = outcomes["failed"]
        summary = (
            f"zuora_sync --watch: {outcomes['finished']} passes finished, "
            f"{outcomes['skipped']} skipped, {failed} failed"
        )
        if failed:
            raise CommandError(summary)
        self.stdout.write(summary)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM stops a pass like Ctrl-C does: it records its progress and a later one resumes.
    raise KeyboardInterrupt
