"""The benchmark's knobs and its check that every figure was produced."""

import json

import pytest

from bench.instructions import read_total
from bench.report import Figure, Report, percentile
from bench.run import expected_figures
from bench.sizes import Sizes


def test_tiny_preset_is_overridden_by_a_single_variable():
    sizes = Sizes.from_environment(
        {"BENCH_SIZE": "tiny", "BENCH_SECONDS": "3", "BENCH_SCALE": "1,4"}
    )

    assert sizes.seconds == 3.0
    assert sizes.scale == (1, 4)
    assert sizes.import_accounts == 300  # from the preset


def test_unknown_database_or_section_is_refused():
    with pytest.raises(ValueError, match="BENCH_DB"):
        Sizes.from_environment({"BENCH_DB": "oracle"})
    with pytest.raises(ValueError, match="BENCH_SECTIONS"):
        Sizes.from_environment({"BENCH_SECTIONS": "ingest,warp"})


def test_a_switch_is_read_as_a_switch_or_refused():
    assert Sizes().callout_preemptive is True
    assert Sizes.from_environment({"BENCH_CALLOUT_PREEMPTIVE": "0"}).callout_preemptive is False
    assert Sizes.from_environment({"BENCH_CALLOUT_PREEMPTIVE": "On"}).callout_preemptive is True
    with pytest.raises(ValueError, match="BENCH_CALLOUT_PREEMPTIVE"):
        Sizes.from_environment({"BENCH_CALLOUT_PREEMPTIVE": "maybe"})


def test_a_figure_without_value_is_missing_unless_not_applicable():
    report = Report(settings={})
    report.add(Figure("a", "measured", "ms", 12.0))
    report.add(Figure("b", "failed", "ms"))
    report.add(Figure("c", "not here", "tx/s", not_applicable="needs PostgreSQL"))

    assert report.missing(["a", "b", "c", "d"]) == ["b", "d"]


def test_report_is_written_as_latest_json_too(tmp_path):
    report = Report(settings={"db": "sqlite"})
    report.add(Figure("ingest.latency_p99_ms", "p99", "ms", 7.5, goal="≤ 20 ms", passed=True))

    path = report.write(tmp_path)

    latest = json.loads((tmp_path / "latest.json").read_text())
    assert json.loads(path.read_text()) == latest
    assert latest["figures"]["ingest.latency_p99_ms"]["value"] == 7.5
    assert "p99" in report.table()


def test_nearest_rank_percentile():
    assert percentile(list(range(1, 101)), 0.99) == 99
    assert percentile([5.0], 0.5) == 5.0
    assert percentile([], 0.5) is None


def test_instruction_counts_are_asked_for_not_run_by_default():
    assert "instructions" not in Sizes().sections.split(",")
    sizes = Sizes.from_environment({"BENCH_SIZE": "tiny", "BENCH_SECTIONS": "instructions"})

    assert sizes.sections == "instructions"
    assert sizes.instruction_syncs == 5
    assert expected_figures(sizes) == ["instructions.account_sync", "instructions.contact_sync"]


def test_callgrind_totals_are_read_even_when_its_summary_is_zero(tmp_path):
    # What callgrind writes when instrumentation started off and was switched on.
    output = tmp_path / "callgrind.out"
    output.write_text("version: 1\nevents: Ir\nsummary: 0\nfn=(1) main\n3 5\ntotals: 101280754\n")

    assert read_total(output) == 101_280_754

    output.write_text("events: Ir\nfn=(1) main\n")
    with pytest.raises(RuntimeError, match="no totals"):
        read_total(output)
