"""How the freshness benchmark matches changes with sync runs and callouts.

Times are seconds; runs are `Run`s (enqueued, claimed, finished[, committed]).
"""

import pytest

from bench.freshness import Run, outcomes

ACCOUNT = ("account", "A1")


def test_a_change_is_reflected_by_the_first_run_that_claimed_after_it():
    seen = outcomes(
        [(10.0, *ACCOUNT)],
        {ACCOUNT: [Run(9.0, 9.1, 9.4), Run(10.05, 10.08, 10.3), Run(11.0, 11.1, 11.4)]},
        {ACCOUNT: [9.0, 10.02]},
    )

    assert seen.latencies == pytest.approx([300.0])
    assert seen.apart_from_overlaps == pytest.approx([300.0])
    assert seen.overlaps == 0
    assert seen.stages["change_to_callout"] == pytest.approx([20.0])
    assert seen.stages["callout_to_task_enqueued"] == pytest.approx([30.0])
    assert seen.stages["task_enqueued_to_claimed"] == pytest.approx([30.0])
    assert seen.stages["claimed_to_committed"] == pytest.approx([220.0])


def test_a_change_during_a_run_is_an_overlap_reflected_by_the_next_run():
    seen = outcomes(
        [(10.1, *ACCOUNT)],
        {ACCOUNT: [Run(9.9, 10.0, 10.25), Run(10.25, 10.3, 10.5)]},
        {ACCOUNT: [10.11]},
    )

    assert seen.overlaps == 1
    assert seen.swallowed == 0
    assert seen.overlapping == pytest.approx([400.0])
    assert seen.apart_from_overlaps == []


def test_an_overlap_with_a_callout_and_no_later_run_was_swallowed():
    seen = outcomes(
        [(10.1, *ACCOUNT)],
        {ACCOUNT: [Run(9.9, 10.0, 10.25)]},
        {ACCOUNT: [10.11]},
    )

    assert (seen.overlaps, seen.swallowed, seen.unreflected) == (1, 1, 1)
    assert seen.latencies == []
    assert seen.examples == [
        {"object": "account", "callouts_ms": [10], "runs_ms": [[-200, -100, 150]]}
    ]


def test_a_change_whose_callout_never_came_is_counted_apart():
    seen = outcomes([(10.0, *ACCOUNT)], {}, {ACCOUNT: [9.0]})

    assert (seen.undelivered, seen.unreflected, seen.swallowed) == (1, 0, 0)


def test_stages_leave_out_a_run_whose_task_came_before_the_callout():
    # A task enqueued by an earlier callout, still settling, claims after the
    # change: it reflects the change, but its stages would be negative.
    seen = outcomes(
        [(10.0, *ACCOUNT)],
        {ACCOUNT: [Run(9.95, 10.1, 10.3)]},
        {ACCOUNT: [9.94, 10.01]},
    )

    assert seen.latencies == pytest.approx([300.0])
    assert all(values == [] for values in seen.stages.values())


def test_a_change_during_a_run_that_its_follow_up_overtook_is_reflected_by_the_follow_up():
    seen = outcomes(
        [(10.1, *ACCOUNT)],
        # The first run is overtaken (it commits nothing) by the follow-up
        # that the change's callout started, which claims before it ends.
        {ACCOUNT: [Run(9.9, 10.0, 10.25, False), Run(10.12, 10.15, 10.38, True)]},
        {ACCOUNT: [10.11]},
    )

    assert seen.overlaps == 1
    assert seen.swallowed == 0
    assert seen.overlapping == pytest.approx([280.0])


def test_a_run_that_committed_nothing_reflects_no_change():
    seen = outcomes(
        [(10.0, *ACCOUNT)],
        {ACCOUNT: [Run(10.02, 10.05, 10.3, False)]},
        {ACCOUNT: [10.01]},
    )

    assert seen.latencies == []
    assert seen.unreflected == 1
