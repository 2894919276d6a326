"""The queue of Zuora objects waiting to be fetched: request, claim, finish, retry.

Each object has at most one `PendingSync` row. A request (from a callout, a
reconciliation pass or an operator) upserts it; a worker claims it with a
conditional update, so one run holds an object's claim at a time on every
database; the claim is checked again, under a row lock, in the transaction
that commits the reconciliation, so only the run that holds it commits.

A request that arrives while the object's sync runs may announce a change
that the running fetch came too early to see. It starts a follow-up run at
once (after settling like any request), which takes the claim over: the
overtaken run commits nothing (`Overtaken`), and the change is reflected one
fetch after its callout instead of after the running sync and a fetch more.
A follow-up is not overtaken in turn (requests during it make it run once
more when it ends), so a stream of callouts cannot keep every run from
committing.
"""

import json
import random
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.models import PendingSync, SyncKind, SyncState

_TABLE = PendingSync._meta.db_table


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one pending sync."""

    pk: int
    kind: SyncKind
    zuora_id: str
    token: str
    attempt: int
    claimed_at: datetime  # when the claim was taken: the fetch comes after
    # An account's claim: how many of its contacts' pending syncs it may cover
    # (`cover_contacts`); 0 for a contact's.
    covering: int = field(default=0, compare=False)
    # Contacts whose syncs an account's sync completed (`finish_covered`).
    covered: list[str] = field(default_factory=list, compare=False)
    # It took the claim over from a run that a request overtook.
    follow_up: bool = False
    # No one else takes the claim before then but a follow-up run.
    lease_expires_at: datetime | None = field(default=None, compare=False)


class ClaimLost(Exception):
    """The lease ran out and the sync was handed to another worker."""


class Overtaken(ClaimLost):
    """A request during the run started a follow-up run, which took the claim over."""


def request_sync(*, kind: SyncKind, zuora_id: str, now: datetime | None = None) -> bool:
    """Mark an object as needing sync; True when the caller must enqueue a task.

    A request for an object that is already pending or running coalesces into
    its row (one task, one fetch); a dead one is revived. A lone request waits
    `SYNC_SETTLE_SECONDS`; a second one before the run, `SYNC_SETTLE_PAIR_SECONDS`
    after it (never sooner than the first's run): Zuora sends two callouts
    at once for some changes, such as an account's Bill-To switch. A third
    request before the run means a burst, and the run then waits
    `SYNC_SETTLE_BURST_SECONDS` after the latest request, up to
    `SYNC_SETTLE_MAX_SECONDS` after the first: a burst of callouts for one
    object costs one fetch even when their delivery is spread out. Requests
    are counted, not the statements that record them: three or more at once
    (callouts recorded together) start with the burst's wait, and after a
    pair recorded together the next request is a burst's third.

    The first request while the object's sync runs starts a new wait too:
    the follow-up run that takes the claim over (see the module's docstring).
    The requests of a wait are those since the object's latest claim (or its
    revival); after a follow-up run that was requested again, the requests
    during it count in the wait that follows.
    """
    return (kind, zuora_id) in request_syncs([(kind, zuora_id)], now=now)


def request_syncs(
    requests: Sequence[tuple[SyncKind, str]],
    *,
    now: datetime | None = None,
    accounts: Mapping[str, str] | None = None,
) -> set[tuple[str, str]]:
    """`request_sync` for many objects in one statement; returns those starting a new wait.

    An object named n times counts as n requests (its generation moves by n).
    `accounts` gives the account of a contact (by the contact's Zuora id)
    when its callout named one. Rows are written (and locked) in key order,
    so that two such statements running at once, such as two web processes
    committing their callouts, wait for each other instead of deadlocking.
    """
    if not requests:
        return set()
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            request_statement(connection.vendor),
            request_parameters(now)
            | {"requested": json.dumps(requested_rows(requests, accounts or {}))},
        )
        returned = cursor.fetchall()
    return {
        (kind, zuora_id)
        for kind, zuora_id, requested_since in returned
        if _as_aware(requested_since) == now
    }


def requested_rows(
    requests: Sequence[tuple[SyncKind, str]], accounts: Mapping[str, str]
) -> list[list[object]]:
    """The `requested` rows of `request_statement`: `[kind, zuora_id, requests,
    account_zuora_id]`, one per object."""
    counts = Counter((str(kind), zuora_id) for kind, zuora_id in requests)
    return [
        [kind, zuora_id, n, accounts.get(zuora_id, "") if kind == SyncKind.CONTACT else ""]
        for (kind, zuora_id), n in counts.items()
    ]


# The objects requested, as one parameter whatever their number (JSON: encoded
# in C, and quoted once), so that the statement's text never changes.
_REQUESTED_ROWS = {
    "postgresql": (
        "SELECT r ->> 0 AS kind, r ->> 1 AS zuora_id, (r ->> 2)::int AS requests,"
        " r ->> 3 AS account_zuora_id FROM json_array_elements(%(requested)s::json) AS r"
    ),
    "sqlite": (
        "SELECT json_extract(value, '$[0]') AS kind, json_extract(value, '$[1]') AS zuora_id,"
        " json_extract(value, '$[2]') AS requests,"
        " json_extract(value, '$[3]') AS account_zuora_id FROM json_each(%(requested)s)"
    ),
}


# A wait that has had this many requests is a burst's (`request_statement`).
BURST_REQUESTS = 3


@cache
def request_statement(vendor: str) -> str:
    """The upsert of `request_syncs`, with named parameters (`request_parameters`).

    Its rows come from the parameter `requested`, a JSON array of `[kind,
    zuora_id, requests, account_zuora_id]` (`requested_rows`; further items
    are left alone); it returns `kind`, `zuora_id` and `requested_since` of
    each object, which equals `now` when its wait starts. A contact keeps the
    account it was last named with.

    A wait starts for a dead object (revived), and for a running one that no
    request has reached since its claim, unless that run is a follow-up.
    A new wait for three requests or more at once (callouts recorded
    together) starts as a burst's. Later requests settle by how many
    requests the wait has had with them: two are a pair, more a burst. They
    are counted from `claimed_generation`, the generation at the latest
    claim or death (0 for a row never claimed), which a claim's end keeps.
    """
    # The row is `p`: short, because the callouts' statement embeds this one
    # (`queue._one_statement`) and psycopg caches the parsing of a statement's
    # text only up to 4 kB.
    overtakable = "(p.state = %(running)s AND NOT p.follow_up)"
    starts = f"(p.state = %(dead)s OR ({overtakable} AND p.generation = p.claimed_generation))"
    return f"""
        INSERT INTO {_TABLE} AS p (
            kind, zuora_id, state, generation, requested_since, last_requested_at,
            next_attempt_at, settle_until, attempts, claim_token, last_error,
            replay_reason, replayed_by, account_zuora_id, cover_token, follow_up
        )
        SELECT kind, zuora_id, %(pending)s, requests, %(now)s, %(now)s,
            CASE WHEN requests >= {BURST_REQUESTS} THEN %(burst)s ELSE %(settled)s END,
            %(settle_until)s, 0, '', '', '', '', COALESCE(account_zuora_id, ''), '', false
        FROM ({_REQUESTED_ROWS[vendor]}) AS requested
        WHERE true
        ORDER BY kind, zuora_id
        ON CONFLICT (kind, zuora_id) DO UPDATE SET
            generation = p.generation + excluded.generation,
            account_zuora_id = CASE WHEN excluded.account_zuora_id <> ''
                THEN excluded.account_zuora_id ELSE p.account_zuora_id END,
            last_requested_at = excluded.last_requested_at,
            requested_since = CASE WHEN {starts}
                THEN excluded.requested_since ELSE p.requested_since END,
            next_attempt_at = CASE
                WHEN {starts} THEN excluded.next_attempt_at
                WHEN (p.state = %(pending)s AND p.attempts = 0) OR {overtakable}
                THEN CASE
                    WHEN p.generation - COALESCE(p.claimed_generation, 0)
                        + excluded.generation < {BURST_REQUESTS} THEN CASE
                        WHEN %(pair)s <= p.next_attempt_at THEN p.next_attempt_at
                        WHEN %(pair)s < p.settle_until THEN %(pair)s
                        ELSE p.settle_until END
                    WHEN %(burst)s < p.settle_until
                    THEN %(burst)s ELSE p.settle_until END
                ELSE p.next_attempt_at END,
            settle_until = CASE WHEN {starts}
                THEN excluded.settle_until ELSE p.settle_until END,
            attempts = CASE WHEN p.state = %(dead)s THEN 0 ELSE p.attempts END,
            dead_at = CASE WHEN p.state = %(dead)s THEN NULL ELSE p.dead_at END,
            state = CASE WHEN p.state = %(dead)s THEN %(pending)s ELSE p.state END
        RETURNING kind, zuora_id, requested_since
    """  # noqa: S608 (table name from the model; values are parameters)


def request_parameters(now: datetime) -> dict[str, object]:
    """The parameters of `request_statement` but its rows."""
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "now": adapt(now),
        "settled": adapt(now + timedelta(seconds=settings.SYNC_SETTLE_SECONDS)),
        "settle_until": adapt(now + timedelta(seconds=settings.SYNC_SETTLE_MAX_SECONDS)),
        "burst": adapt(now + timedelta(seconds=settings.SYNC_SETTLE_BURST_SECONDS)),
        "pair": adapt(now + timedelta(seconds=settings.SYNC_SETTLE_PAIR_SECONDS)),
        "pending": SyncState.PENDING.value,
        "running": SyncState.RUNNING.value,
        "dead": SyncState.DEAD.value,
    }


def _as_aware(value: datetime | str) -> datetime:
    # SQLite hands back text or a naive UTC datetime, PostgreSQL an aware one.
    if isinstance(value, str):
        value = connection.ops.convert_datetimefield_value(value, None, connection)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


def seconds_until_due(
    *, kind: SyncKind, zuora_id: str, now: datetime | None = None
) -> float | None:
    """How long a pending sync still settles, if it is due within the settle bound.

    0 when it is already due (it became due since the caller's claim failed,
    or a contact's claim waits for its account's sync: see `park`): the
    caller claims again at once. None when it is not pending (nor running
    with a follow-up requested), or waits longer (a backed-off retry, which
    has its own task).
    """
    now = now or timezone.now()
    waiting = Q(state=SyncState.PENDING) | Q(
        state=SyncState.RUNNING, follow_up=False, generation__gt=F("claimed_generation")
    )
    due = (
        PendingSync.objects.filter(waiting, kind=kind, zuora_id=zuora_id)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is None:
        return None
    wait = max(0.0, (due - now).total_seconds())
    return wait if wait <= settings.SYNC_SETTLE_MAX_SECONDS else None


def _no_account_sync_ahead(vendor: str) -> str:
    return f"AND NOT EXISTS ({_account_sync_ahead(vendor)})"


# A contact waits for its account's sync when that sync runs, or became due
# this recently: a worker is about to claim it. One overdue for longer waits
# in a queue of tasks, which the contact would wait in once more after it:
# under such a backlog the contact is synced on its own, as before.
ACCOUNT_DUE_WAIT_SECONDS = 0.1


def _account_due_since(now: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(
        now - timedelta(seconds=ACCOUNT_DUE_WAIT_SECONDS)
    )


def claim(
    *,
    kind: SyncKind,
    zuora_id: str,
    now: datetime | None = None,
    wait_for_account: bool = True,
) -> Claim | None:
    """Take a due pending sync for this worker, or None if it is not ours to run.

    A contact whose callout named its account is not taken, unless
    `wait_for_account` is off, while that account's sync runs or is about to
    (`ACCOUNT_DUE_WAIT_SECONDS`): that sync fetches the Bill-To and Sold-To
    with the account, and covers their pending syncs (`cover_contacts`,
    `finish_covered`), as when both were just created. Such a contact is
    parked meanwhile (`park`).

    A running sync that a request reached since its claim is taken over by
    a follow-up claim (`Claim.follow_up`; see the module's docstring), once
    the request has settled; a contact's follow-up does not wait for its
    account. It counts no attempt: the run it overtakes did not fail.

    One `UPDATE … RETURNING` (every sync starts with it: the ORM's update and
    a query for the row's id and attempts were two statements). An account's
    claim also marks its contacts' pending syncs for it (`Claim.covering`), in
    the same statement on PostgreSQL.

    The claim's `claimed_at` is when the statement returned (or `now`, when
    given): requests recorded after it reach a running sync and make it run
    once more, and its fetch comes after it. Taken before the statement, it
    could precede the claim by however long the statement waited (for the
    interpreter, the database, a pooled connection), and a request in that
    gap, folded into the claim itself, looked swallowed.
    """
    given = now
    now = now or timezone.now()
    token = secrets.token_hex(16)
    adapt = connection.ops.adapt_datetimefield_value
    waits = kind == SyncKind.CONTACT and wait_for_account
    covers = kind == SyncKind.ACCOUNT
    lease_expires = now + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    parameters = [token, adapt(now), adapt(lease_expires)]
    parameters += [str(kind), zuora_id, adapt(now)]
    if waits:
        parameters.append(_account_due_since(now))
    together = covers and connection.vendor == "postgresql"
    if together:
        parameters += [token, zuora_id]
    statement = _claim_statement(connection.vendor, waits=waits, covers=together)
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        taken = cursor.fetchone()
    if taken is None:
        return None
    pk, attempts, follow_up, covering = taken
    held = Claim(
        pk=pk,
        kind=SyncKind(kind),
        zuora_id=zuora_id,
        token=token,
        attempt=attempts,
        claimed_at=given or timezone.now(),
        covering=covering,
        follow_up=bool(follow_up),
        lease_expires_at=lease_expires,
    )
    if covers and not together:
        return replace(held, covering=cover_contacts(held))
    return held


@cache
def _claim_statement(vendor: str, *, waits: bool, covers: bool) -> str:
    """The claim's `UPDATE … RETURNING id, attempts, follow_up, <contacts covered>`.

    Parameters: the claim's token, the time now, the lease's end, the kind,
    the Zuora id, the time now; then `_account_due_since` if it `waits`, and
    the token and Zuora id again if it `covers`. (In SET, `state` and
    `attempts` are the row's values before the update.)

    `covers` (an account's, on PostgreSQL): the same statement marks the
    account's pending contact syncs as `cover_contacts` does, once the claim
    is taken; elsewhere that is a statement of its own.
    """
    running, pending = SyncState.RUNNING.value, SyncState.PENDING.value
    claim = f"""
        UPDATE {_TABLE} SET state = '{running}', claim_token = %s,
            claimed_generation = generation, claimed_at = %s, lease_expires_at = %s,
            attempts = CASE WHEN state = '{running}' THEN attempts ELSE attempts + 1 END,
            follow_up = (state = '{running}')
        WHERE kind = %s AND zuora_id = %s AND next_attempt_at <= %s
        AND ((state = '{pending}' {_no_account_sync_ahead(vendor) if waits else ""})
            OR (state = '{running}' AND NOT follow_up AND generation > claimed_generation))
        RETURNING id, attempts, follow_up
    """  # noqa: S608 (names and constants from the models; values are parameters)
    if not covers:
        return f"{claim}, 0"
    return f"""
        WITH claimed AS ({claim}), covered AS (
            UPDATE {_TABLE} SET cover_token = %s, cover_generation = generation
            WHERE {_pending_contacts_of(vendor, " AND EXISTS (SELECT 1 FROM claimed)")}
            RETURNING 1
        )
        SELECT id, attempts, follow_up, (SELECT count(*) FROM covered) FROM claimed
    """  # noqa: S608


@cache
def _account_sync_ahead(vendor: str, *, lock: bool = False) -> str:
    """SQL: the sync of the contact's account runs, or waits for its first attempt
    (not a retry after a failure) and became due after the parameter's time
    (`_account_due_since`) or is not due yet. The text never changes.

    `lock`: share-lock that row, so that a contact parked by it is parked
    before the account's sync finishes, or sees it finished (PostgreSQL; on
    SQLite one transaction writes at a time).
    """
    locking = " FOR SHARE OF account" if lock and vendor == "postgresql" else ""
    return f"""
        SELECT 1 FROM {_TABLE} AS account WHERE account.kind = '{SyncKind.ACCOUNT.value}'
        AND account.zuora_id = {_TABLE}.account_zuora_id
        AND (account.state = '{SyncState.RUNNING.value}'
            OR (account.state = '{SyncState.PENDING.value}' AND account.attempts = 0
                AND account.next_attempt_at > %s))
        {locking}
    """  # noqa: S608 (names and constants from the models)


# How long a parked contact waits at most: by then its account's sync has
# finished or lost its claim (and the sweeper re-runs what is overdue).
def _parked_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.SYNC_LEASE_SECONDS)


def park(*, zuora_id: str, now: datetime | None = None) -> bool:
    """Set a due contact aside while its account's sync is to run or running.

    True when it was parked: the worker's thread is free, and the account's
    sync hands the contact back when it ends (`release_contacts`), whether
    it covered the contact or not. False when it is not due, or not waiting
    for an account (the caller claims it).
    """
    now = now or timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET next_attempt_at = %s "  # noqa: S608
            "WHERE kind = %s AND zuora_id = %s AND state = %s AND next_attempt_at <= %s "
            f"AND EXISTS ({_account_sync_ahead(connection.vendor, lock=True)})",
            [
                adapt(_parked_until(now)),
                SyncKind.CONTACT.value,
                zuora_id,
                SyncState.PENDING.value,
                adapt(now),
                _account_due_since(now),
            ],
        )
        return cursor.rowcount > 0


# The pending contact syncs whose callouts named the account given as the
# parameter (`<> ''` lets PostgreSQL use the partial index `pending_sync_account`).
_PENDING_CONTACTS_OF = (
    "account_zuora_id = %s AND account_zuora_id <> '' "
    f"AND kind = '{SyncKind.CONTACT.value}' AND state = '{SyncState.PENDING.value}'"
)


@cache
def _pending_contacts_of(vendor: str, condition: str = "") -> str:
    """The WHERE clause of a write to `_PENDING_CONTACTS_OF` (and `condition`).

    On PostgreSQL the rows are locked in key order first, as a batch of
    callouts locks them (`request_statement`): in the order of the account's
    index, two contacts of one account could each be held by one of the two
    while the other waits for it (a deadlock).
    """
    if vendor != "postgresql":
        return f"{_PENDING_CONTACTS_OF}{condition}"
    return (
        f"id IN (SELECT id FROM {_TABLE} WHERE {_PENDING_CONTACTS_OF}{condition} "  # noqa: S608
        "ORDER BY zuora_id FOR NO KEY UPDATE)"
    )


def release_contacts(account_zuora_id: str, *, now: datetime | None = None) -> set[tuple[str, str]]:
    """When an account's sync ends: its contacts still pending run now (they may
    be parked). Returns them, to enqueue."""
    now = now or timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_release(connection.vendor)} RETURNING kind, zuora_id",
            [adapt(now), adapt(now), account_zuora_id],
        )
        return set(cursor.fetchall())


def _release(vendor: str) -> str:
    """Parameters: the time now, twice, and the account's Zuora id."""
    return (
        f"UPDATE {_TABLE} SET next_attempt_at = CASE WHEN next_attempt_at > %s "  # noqa: S608
        f"THEN %s ELSE next_attempt_at END WHERE {_pending_contacts_of(vendor)}"
    )


def cover_contacts(held: Claim) -> int:
    """Part of an account's claim, before its fetch: its contacts' pending syncs, as
    requested so far, may be covered by it (`finish_covered`). Returns how many
    there are.

    Only contacts whose callouts named the account are found here. Their
    requests up to now came before the fetch, so the fetch sees what they
    announced.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET cover_token = %s, cover_generation = generation "  # noqa: S608
            f"WHERE {_pending_contacts_of(connection.vendor)}",
            [held.token, held.zuora_id],
        )
        return cursor.rowcount


def finish_covered(held: Claim, contact_ids: Sequence[str]) -> list[str]:
    """Inside the transaction that stored an account with these contacts (its Bill-To
    and Sold-To, fetched with it): their pending syncs that nothing was requested
    for since `cover_contacts` are done. Returns their ids."""
    if not contact_ids:
        return []
    parameters = [SyncKind.CONTACT.value, *contact_ids, SyncState.PENDING.value, held.token]
    # The account's pending row first (`_LOCK_ACCOUNT_ROW`).
    lock = ""
    if connection.vendor == "postgresql":
        lock = f"AND EXISTS ({_LOCK_ACCOUNT_ROW}) "
        parameters.append(held.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_TABLE} WHERE kind = %s AND zuora_id IN "  # noqa: S608
            f"({', '.join(['%s'] * len(contact_ids))}) AND state = %s "
            f"AND cover_token = %s AND generation = cover_generation {lock}RETURNING zuora_id",
            parameters,
        )
        return sorted(zuora_id for (zuora_id,) in cursor.fetchall())


# An account's sync writes its own pending row, and then its contacts', only
# with that row locked (PostgreSQL): parking a contact share-locks the
# account's row and then writes the contact's, and a request locks rows in
# key order (accounts before contacts). Taken the other way round, a parking
# and the account's commit could each wait for the other (a deadlock).
_LOCK_ACCOUNT_ROW = f"SELECT 1 FROM {_TABLE} WHERE id = %s FOR NO KEY UPDATE"  # noqa: S608


_FINISHED = (
    f"DELETE FROM {_TABLE} WHERE id = %s AND claim_token = %s "  # noqa: S608
    "AND generation = claimed_generation"
)


def finish(held: Claim, *, now: datetime | None = None) -> bool:
    """Mark the sync done, inside the transaction that committed its work.

    Returns True when another request arrived while it ran: the row then goes
    back to pending, and the caller must enqueue it again after commit.
    """
    now = now or timezone.now()
    # Usually nothing came in meanwhile: one DELETE. A request committing at
    # the same moment holds the row; the DELETE waits for it and then sees
    # the new generation (PostgreSQL re-checks the condition on the row as
    # it is after the wait), and the row goes back to pending below.
    with connection.cursor() as cursor:
        cursor.execute(_FINISHED, [held.pk, held.token])
        if cursor.rowcount:
            return False
    return _requeue(held, now)


def finish_account(
    held: Claim, *, now: datetime | None = None
) -> tuple[bool, set[tuple[str, str]]]:
    """`finish` for an account's sync, which also hands its contacts back
    (`release_contacts`): whether it goes back to pending, and the contacts to
    enqueue. On PostgreSQL, both in one statement."""
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        released = release_contacts(held.zuora_id, now=now)
        return finish(held, now=now), released
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        # The account's row is locked first (`_LOCK_ACCOUNT_ROW`), by the
        # statement's first step, which both writes wait for.
        cursor.execute(
            f"WITH account AS ({_LOCK_ACCOUNT_ROW}), "  # noqa: S608
            f"done AS ({_FINISHED} AND EXISTS (SELECT 1 FROM account) RETURNING 1), "
            f"released AS ({_release(connection.vendor)} AND EXISTS (SELECT 1 FROM account) "
            "RETURNING zuora_id) "
            "SELECT (SELECT count(*) FROM done), ARRAY(SELECT zuora_id FROM released)",
            [held.pk, held.pk, held.token, adapt(now), adapt(now), held.zuora_id],
        )
        [(done, released)] = cursor.fetchall()
    contacts = {(SyncKind.CONTACT.value, zuora_id) for zuora_id in released}
    return (False if done else _requeue(held, now)), contacts


# What a claim wrote, undone when the row stops running (`PendingSync` fields).
# `claimed_generation` stays: the requests in a wait are counted from it
# (`request_statement`).
_UNCLAIMED: dict[str, object] = {
    "claim_token": "",
    "lease_expires_at": None,
    "follow_up": False,
}


def _requeue(held: Claim, now: datetime) -> bool:
    """A request came in while the sync ran: pending again (True).

    After a follow-up it settles anew, so that the rest of a burst joins this
    one more fetch; after a first run the requests already started the
    follow-up's wait, which goes on (its run had not taken the claim yet).
    """
    still_ours = PendingSync.objects.filter(pk=held.pk, claim_token=held.token)
    released = _UNCLAIMED | {"state": SyncState.PENDING, "attempts": 0}
    if held.follow_up:
        released |= {
            "next_attempt_at": now + timedelta(seconds=settings.SYNC_SETTLE_SECONDS),
            "settle_until": now + timedelta(seconds=settings.SYNC_SETTLE_MAX_SECONDS),
            "requested_since": now,
        }
    if not still_ours.update(**released):
        raise _lost(held)
    return True


def _lost(held: Claim) -> ClaimLost:
    """Why this claim is no longer held: overtaken by a follow-up run (which may
    have finished since), or its lease ran out and the sweeper handed it on."""
    if held.lease_expires_at is not None and timezone.now() < held.lease_expires_at:
        return Overtaken(f"{held.kind} {held.zuora_id}: a follow-up run took the claim over")
    return ClaimLost(f"{held.kind} {held.zuora_id}: lease expired before commit")


def retry_delay(*, attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than Zuora asked."""
    ceiling = min(settings.SYNC_RETRY_MAX_SECONDS, settings.SYNC_RETRY_BASE_SECONDS * 2**attempt)
    delay = random.uniform(0, ceiling)  # noqa: S311 (jitter, not security)
    return max(delay, retry_after or 0.0)


def fail(
    held: Claim,
    *,
    error: str,
    retryable: bool,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """Record a failed attempt; returns when to run again, or None when it is dead.

    Raises `ClaimLost` (`Overtaken`) when the claim is no longer held: the
    run that holds it now records its own outcome.
    """
    now = now or timezone.now()
    still_ours = PendingSync.objects.filter(pk=held.pk, claim_token=held.token)
    released = _UNCLAIMED | {"last_error": error[:2000]}
    run_at = None
    if retryable and held.attempt < settings.SYNC_MAX_ATTEMPTS:
        run_at = now + timedelta(seconds=retry_delay(attempt=held.attempt, retry_after=retry_after))
        released |= {"state": SyncState.PENDING, "next_attempt_at": run_at}
    else:
        # The request that revives it starts a wait: its requests count from here.
        released |= {"state": SyncState.DEAD, "dead_at": now, "claimed_generation": F("generation")}
    if not still_ours.update(**released):
        raise _lost(held)
    return run_at


def defer(held: Claim, *, seconds: float, reason: str, now: datetime | None = None) -> datetime:
    """Put the sync back to wait for something else (not a failure, but counted)."""
    return fail(held, error=reason, retryable=True, retry_after=seconds, now=now) or (
        now or timezone.now()
    )


def revive(*, pks: list[int], reason: str, operator: str, now: datetime | None = None) -> int:
    """Give dead syncs a fresh set of attempts, keeping the operator's reason."""
    now = now or timezone.now()
    with transaction.atomic():
        return PendingSync.objects.filter(pk__in=pks, state=SyncState.DEAD).update(
            state=SyncState.PENDING,
            attempts=0,
            dead_at=None,
            claimed_generation=F("generation"),
            next_attempt_at=now,
            requested_since=now,
            replay_reason=reason,
            replayed_at=now,
            replayed_by=operator[:150],
        )


def release_expired_leases(*, now: datetime | None = None) -> list[tuple[str, str]]:
    """Hand back syncs whose worker died mid-run; returns them for re-enqueueing."""
    now = now or timezone.now()
    expired = list(
        PendingSync.objects.filter(state=SyncState.RUNNING, lease_expires_at__lt=now).values_list(
            "pk", "kind", "zuora_id"
        )
    )
    released = []
    for pk, kind, zuora_id in expired:
        if PendingSync.objects.filter(
            pk=pk, state=SyncState.RUNNING, lease_expires_at__lt=now
        ).update(
            state=SyncState.PENDING,
            **_UNCLAIMED,
            next_attempt_at=now,
            last_error="worker stopped before finishing; lease expired",
        ):
            released.append((kind, zuora_id))
    return released


def overdue(
    *, now: datetime | None = None, grace: float, limit: int = 1000
) -> list[tuple[str, str]]:
    """Pending syncs that should have run a while ago (their task may be lost)."""
    now = now or timezone.now()
    return list(
        PendingSync.objects.filter(
            state=SyncState.PENDING, next_attempt_at__lt=now - timedelta(seconds=grace)
        )
        .order_by("next_attempt_at")
        .values_list("kind", "zuora_id")[:limit]
    )


def due(*, now: datetime | None = None, limit: int = 1000) -> list[tuple[str, str]]:
    """Pending syncs whose time has come, oldest first."""
    now = now or timezone.now()
    return list(
        PendingSync.objects.filter(state=SyncState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("kind", "zuora_id")[:limit]
    )
