"""The figures of a run: one table on stdout, the same as JSON under var/bench/."""

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measured value, with what it is compared to; `passed` is informational."""

    key: str
    label: str
    unit: str
    value: float | None = None
    reference: str = ""
    ratio: float | None = None
    goal: str = ""
    passed: bool | None = None
    # Why the value is missing when that is expected (e.g. pgbench on SQLite).
    not_applicable: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """Every figure of one run, in the order measured."""

    settings: dict[str, Any]
    figures: dict[str, Figure] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)

    def add(self, figure: Figure) -> Figure:
        self.figures[figure.key] = figure
        return figure

    def missing(self, expected: list[str]) -> list[str]:
        """Expected figures with neither a value nor a reason for having none."""
        gone = []
        for key in expected:
            figure = self.figures.get(key)
            if figure is None or (
                not figure.not_applicable
                and (figure.value is None or not math.isfinite(figure.value))
            ):
                gone.append(key)
        return gone

    def table(self) -> str:
        rows = [("figure", "value", "reference", "ratio", "goal", "")]
        for figure in self.figures.values():
            value = (
                f"n/a ({figure.not_applicable})"
                if figure.not_applicable
                else f"{_number(figure.value)} {figure.unit}".strip()
            )
            ratio = "" if figure.ratio is None else f"{figure.ratio:.2f}"
            mark = {True: "ok", False: "MISSED", None: ""}[figure.passed]
            rows.append((figure.label, value, figure.reference, ratio, figure.goal, mark))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = []
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)

    def write(self, directory: Path) -> Path:
        """Write `<timestamp>.json` and `latest.json`; returns the first."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(self.started_at))
        document = {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started_at)),
            "seconds": round(time.time() - self.started_at, 1),
            "settings": self.settings,
            "figures": {key: asdict(figure) for key, figure in self.figures.items()},
            "errors": self.errors,
        }
        text = json.dumps(document, indent=2, default=str) + "\n"
        path = directory / f"{stamp}.json"
        path.write_text(text)
        (directory / "latest.json").write_text(text)
        return path


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share in 0..1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]
