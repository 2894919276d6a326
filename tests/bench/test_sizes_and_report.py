"""The benchmark's knobs and its check that every figure was produced."""

import json

import pytest

from bench.report import Figure, Report, percentile
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
