"""The pending-sync queue: coalescing, claims, generations, retries and dead letters."""

from datetime import datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from billing.models import PendingSync, SyncKind, SyncState
from billing.sync import pending
from tests.factories import zuora_id

pytestmark = pytest.mark.django_db

ACCOUNT = SyncKind.ACCOUNT
# The settle delays as configured by default (the tests' own are 0).
SETTLE_DELAYS = override_settings(
    SYNC_SETTLE_SECONDS=0.03,
    SYNC_SETTLE_PAIR_SECONDS=0.05,
    SYNC_SETTLE_BURST_SECONDS=0.1,
    SYNC_SETTLE_MAX_SECONDS=0.3,
)


def test_first_request_creates_a_pending_row_and_asks_for_a_task() -> None:
    object_id = zuora_id()
    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id) is True
    row = PendingSync.objects.get()
    assert (row.kind, row.zuora_id, row.state, row.generation) == (
        ACCOUNT,
        object_id,
        SyncState.PENDING,
        1,
    )


def test_requests_for_a_pending_object_coalesce_without_another_task() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    later = [pending.request_sync(kind=ACCOUNT, zuora_id=object_id) for _ in range(9)]
    assert later == [False] * 9
    assert PendingSync.objects.get().generation == 10


def test_the_same_id_as_account_and_as_contact_are_two_objects() -> None:
    object_id = zuora_id()
    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    assert pending.request_sync(kind=SyncKind.CONTACT, zuora_id=object_id)
    assert PendingSync.objects.count() == 2


def test_only_one_worker_can_claim_an_object() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    first = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    second = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert first is not None
    assert first.attempt == 1
    assert second is None


def test_finishing_without_new_requests_removes_the_row() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    assert pending.finish(held) is False
    assert not PendingSync.objects.exists()


def taken_over(object_id: str) -> tuple[pending.Claim, pending.Claim]:
    """A run of the object, and the follow-up run that a request during it started."""
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    assert not held.follow_up
    # The callout arrives while the first run's fetch is on its way: the
    # change may be after it, so a second run starts (a task) and fetches.
    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id) is True
    follow_up = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert follow_up is not None
    assert follow_up.follow_up
    return held, follow_up


def test_a_request_during_a_run_starts_a_follow_up_that_takes_the_claim_over() -> None:
    object_id = zuora_id()
    held, follow_up = taken_over(object_id)
    assert follow_up.attempt == held.attempt  # overtaking is no failed attempt

    # The first run commits nothing, whether it ends well or fails.
    with pytest.raises(pending.Overtaken):
        pending.finish(held)
    with pytest.raises(pending.Overtaken):
        pending.fail(held, error="ZuoraServerError", retryable=True)
    assert PendingSync.objects.get().claim_token == follow_up.token
    assert pending.finish(follow_up) is False
    assert not PendingSync.objects.exists()


def test_a_request_during_a_follow_up_makes_it_run_once_more() -> None:
    object_id = zuora_id()
    _, follow_up = taken_over(object_id)
    # Not overtaken in turn: a stream of callouts must let runs commit.
    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id) is False
    assert pending.claim(kind=ACCOUNT, zuora_id=object_id) is None
    assert pending.seconds_until_due(kind=ACCOUNT, zuora_id=object_id) is None

    assert pending.finish(follow_up) is True

    row = PendingSync.objects.get()
    assert (row.state, row.attempts, row.follow_up) == (SyncState.PENDING, 0, False)
    again = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert again is not None
    assert not again.follow_up


def test_a_running_sync_that_no_request_reached_is_not_taken_over() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    assert pending.claim(kind=ACCOUNT, zuora_id=object_id) is None
    assert pending.seconds_until_due(kind=ACCOUNT, zuora_id=object_id) is None
    assert pending.finish(held) is False


def requested_during_a_run(object_id: str, start: datetime) -> pending.Claim:
    """A run claimed 30 ms after `start` (the settle delay), and a request 20 ms
    into it, which starts the follow-up's wait (`SETTLE_DELAYS`)."""
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=start)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id, now=start + timedelta(seconds=0.03))
    assert held is not None
    later = start + timedelta(seconds=0.05)
    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=later) is True
    return held


@SETTLE_DELAYS
def test_a_follow_up_waits_for_its_requests_to_settle() -> None:
    object_id = zuora_id()
    start = timezone.now()
    requested_during_a_run(object_id, start)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    assert pending.seconds_until_due(
        kind=ACCOUNT, zuora_id=object_id, now=at(0.05)
    ) == pytest.approx(0.03)
    # A pair, then a burst, as before a first run.
    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=at(0.06)) is False
    assert PendingSync.objects.get().next_attempt_at == at(0.11)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=at(0.07))
    assert PendingSync.objects.get().next_attempt_at == at(0.17)
    assert pending.claim(kind=ACCOUNT, zuora_id=object_id, now=at(0.16)) is None
    assert pending.claim(kind=ACCOUNT, zuora_id=object_id, now=at(0.17)) is not None


@SETTLE_DELAYS
def test_a_run_that_ends_before_its_follow_up_claims_leaves_it_its_wait() -> None:
    object_id = zuora_id()
    start = timezone.now()
    held = requested_during_a_run(object_id, start)

    assert pending.finish(held, now=start + timedelta(seconds=0.06)) is True

    row = PendingSync.objects.get()
    assert (row.state, row.follow_up) == (SyncState.PENDING, False)
    assert row.next_attempt_at == start + timedelta(seconds=0.08)
    follow_up = pending.claim(kind=ACCOUNT, zuora_id=object_id, now=row.next_attempt_at)
    assert follow_up is not None
    assert not follow_up.follow_up  # nothing left to take over: a run of its own


def test_a_contacts_follow_up_does_not_wait_for_its_account() -> None:
    account_id, contact_id = zuora_id(), zuora_id()
    pending.request_syncs([(SyncKind.CONTACT, contact_id)], accounts={contact_id: account_id})
    held = pending.claim(kind=SyncKind.CONTACT, zuora_id=contact_id)
    assert held is not None
    pending.request_sync(kind=ACCOUNT, zuora_id=account_id)
    pending.request_syncs([(SyncKind.CONTACT, contact_id)], accounts={contact_id: account_id})
    # Its account's sync is due, and would make a first run wait for it.
    follow_up = pending.claim(kind=SyncKind.CONTACT, zuora_id=contact_id)
    assert follow_up is not None
    assert follow_up.follow_up


def test_a_finish_after_the_lease_was_taken_over_is_refused() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    later = timezone.now() + timedelta(hours=1)
    assert pending.release_expired_leases(now=later) == [(ACCOUNT, object_id)]
    assert pending.claim(kind=ACCOUNT, zuora_id=object_id, now=later) is not None

    with pytest.raises(pending.ClaimLost):
        pending.finish(held)


@override_settings(SYNC_MAX_ATTEMPTS=3, SYNC_RETRY_BASE_SECONDS=1, SYNC_RETRY_MAX_SECONDS=4)
def test_failures_back_off_then_the_sync_dies_with_its_last_error() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    now = timezone.now()
    for attempt in (1, 2):
        held = pending.claim(kind=ACCOUNT, zuora_id=object_id, now=now)
        assert held is not None
        assert held.attempt == attempt
        run_at = pending.fail(held, error="boom", retryable=True, retry_after=30, now=now)
        assert run_at is not None
        assert run_at >= now + timedelta(seconds=30)  # Retry-After is honoured
        assert pending.claim(kind=ACCOUNT, zuora_id=object_id, now=now) is None  # not yet due
        now = run_at
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id, now=now)
    assert held is not None
    assert pending.fail(held, error="still broken", retryable=True, now=now) is None
    row = PendingSync.objects.get()
    assert row.state == SyncState.DEAD
    assert row.last_error == "still broken"
    assert row.dead_at == now


def test_a_permanent_error_kills_the_sync_at_once() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    assert pending.fail(held, error="400", retryable=False) is None
    assert PendingSync.objects.get().state == SyncState.DEAD


def test_a_new_callout_revives_a_dead_sync() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    pending.fail(held, error="400", retryable=False)

    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id) is True

    row = PendingSync.objects.get()
    assert (row.state, row.attempts, row.dead_at) == (SyncState.PENDING, 0, None)


def test_a_callout_never_pulls_a_backed_off_retry_forward() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    run_at = pending.fail(held, error="429", retryable=True, retry_after=60)

    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id) is False

    row = PendingSync.objects.get()
    assert row.next_attempt_at == run_at
    assert row.attempts == 1


def test_operators_revive_dead_syncs_with_a_reason() -> None:
    object_id = zuora_id()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id)
    held = pending.claim(kind=ACCOUNT, zuora_id=object_id)
    assert held is not None
    pending.fail(held, error="400", retryable=False)
    row = PendingSync.objects.get()

    assert pending.revive(pks=[row.pk], reason="Zuora fixed the data", operator="ops") == 1

    row.refresh_from_db()
    assert (row.state, row.replay_reason, row.replayed_by) == (
        SyncState.PENDING,
        "Zuora fixed the data",
        "ops",
    )


def test_overdue_lists_pending_syncs_whose_task_may_be_lost() -> None:
    object_id = zuora_id()
    long_ago = timezone.now() - timedelta(hours=1)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=long_ago)
    pending.request_sync(kind=ACCOUNT, zuora_id=zuora_id())
    assert pending.overdue(grace=120) == [(ACCOUNT, object_id)]


@SETTLE_DELAYS
def test_a_burst_of_requests_settles_before_the_first_run() -> None:
    object_id = zuora_id()
    start = timezone.now()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=start)
    # A lone request waits the short delay.
    assert PendingSync.objects.get().next_attempt_at == start + timedelta(seconds=0.03)
    assert pending.claim(kind=ACCOUNT, zuora_id=object_id, now=start) is None

    # A second one (Zuora sends two callouts for some changes) waits the pair's
    # delay after it.
    second = start + timedelta(seconds=0.01)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=second)
    assert PendingSync.objects.get().next_attempt_at == second + timedelta(seconds=0.05)
    # A third makes it a burst: the run waits the longer delay after the latest...
    later = start + timedelta(seconds=0.02)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=later)
    assert PendingSync.objects.get().next_attempt_at == later + timedelta(seconds=0.1)
    # ...and a straggler still joins it...
    straggler = start + timedelta(seconds=0.11)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=straggler)
    assert PendingSync.objects.get().next_attempt_at == straggler + timedelta(seconds=0.1)
    # ...but the run never moves past the bound after the first request.
    much_later = start + timedelta(seconds=0.25)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=much_later)
    assert PendingSync.objects.get().next_attempt_at == start + timedelta(seconds=0.3)

    assert (
        pending.claim(kind=ACCOUNT, zuora_id=object_id, now=start + timedelta(seconds=0.29)) is None
    )
    assert pending.claim(kind=ACCOUNT, zuora_id=object_id, now=start + timedelta(seconds=0.3))


@SETTLE_DELAYS
@pytest.mark.parametrize(
    ("requests", "waits", "next_waits"),
    [(1, 0.03, 0.05), (2, 0.03, 0.1), (3, 0.1, 0.1), (10, 0.1, 0.1)],
)
def test_requests_recorded_together_wait_as_their_number_says(
    requests: int, waits: float, next_waits: float
) -> None:
    """Callouts committed in one batch arrive as one statement: three or more
    for one object are a burst already (its rest may still be on the way); a
    pair recorded together is complete, and waits no more than a lone one.
    The next request counts as one more: a pair's second after a lone one, a
    burst's third (or later) after more."""
    object_id = zuora_id()
    start = timezone.now()
    started = pending.request_syncs([(ACCOUNT, object_id)] * requests, now=start)
    assert started == {(ACCOUNT, object_id)}
    row = PendingSync.objects.get()
    assert (row.generation, row.next_attempt_at) == (requests, start + timedelta(seconds=waits))
    later = start + timedelta(seconds=0.02)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=later)
    assert PendingSync.objects.get().next_attempt_at == later + timedelta(seconds=next_waits)


@SETTLE_DELAYS
def test_a_pair_recorded_after_a_lone_request_makes_a_burst() -> None:
    object_id = zuora_id()
    start = timezone.now()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=start)
    later = start + timedelta(seconds=0.02)
    pending.request_syncs([(ACCOUNT, object_id)] * 2, now=later)
    assert PendingSync.objects.get().next_attempt_at == later + timedelta(seconds=0.1)


@SETTLE_DELAYS
def test_requests_after_a_first_run_went_back_to_pending_count_from_its_claim() -> None:
    object_id = zuora_id()
    start = timezone.now()
    held = requested_during_a_run(object_id, start)  # one request since the claim
    assert pending.finish(held, now=start + timedelta(seconds=0.06)) is True

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=at(0.07))
    assert PendingSync.objects.get().next_attempt_at == at(0.12)  # the second: a pair
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=at(0.075))
    assert PendingSync.objects.get().next_attempt_at == at(0.175)  # the third: a burst


@SETTLE_DELAYS
def test_requests_after_a_revival_count_from_it() -> None:
    object_id = zuora_id()
    held = requested_during_a_run(object_id, timezone.now() - timedelta(seconds=1))
    pending.fail(held, error="400", retryable=False)  # with a request since its claim

    revived_at = timezone.now()
    assert pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=revived_at) is True
    assert PendingSync.objects.get().next_attempt_at == revived_at + timedelta(seconds=0.03)
    second = revived_at + timedelta(seconds=0.01)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=second)
    assert PendingSync.objects.get().next_attempt_at == second + timedelta(seconds=0.05)


@SETTLE_DELAYS
def test_a_second_request_never_moves_the_run_earlier() -> None:
    object_id = zuora_id()
    start = timezone.now()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=start)
    # Recorded by another process whose clock is behind this one's.
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=start - timedelta(seconds=0.03))
    assert PendingSync.objects.get().next_attempt_at == start + timedelta(seconds=0.03)


@SETTLE_DELAYS
def test_a_pair_after_a_follow_up_that_was_requested_again_waits_the_pair_delay() -> None:
    object_id = zuora_id()
    start = timezone.now()
    requested_during_a_run(object_id, start)
    follow_up = pending.claim(kind=ACCOUNT, zuora_id=object_id, now=start + timedelta(seconds=0.08))
    assert follow_up is not None
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=start + timedelta(seconds=0.1))
    requeued_at = start + timedelta(seconds=0.4)
    assert pending.finish(follow_up, now=requeued_at) is True

    second = requeued_at + timedelta(seconds=0.01)
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=second)
    assert PendingSync.objects.get().next_attempt_at == second + timedelta(seconds=0.05)


@override_settings(SYNC_SETTLE_SECONDS=0.05, SYNC_SETTLE_MAX_SECONDS=0.2)
def test_seconds_until_due_tells_a_worker_how_long_to_wait() -> None:
    object_id = zuora_id()
    start = timezone.now()
    pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=start)
    assert pending.seconds_until_due(kind=ACCOUNT, zuora_id=object_id, now=start) == pytest.approx(
        0.05
    )
    assert pending.seconds_until_due(kind=ACCOUNT, zuora_id=zuora_id(), now=start) is None
    # Became due since a claim failed: claim again at once, never give up on it.
    late = start + timedelta(seconds=0.06)
    assert pending.seconds_until_due(kind=ACCOUNT, zuora_id=object_id, now=late) == 0
