"""`make demo` at a small size: the whole stack converges and says so."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_converges_and_prints_its_report() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher.demo",
            "--accounts",
            "30",
            "--changes",
            "40",
            "--rate",
            "20",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for line in (
        "changes applied in Zuora   40",
        "callouts received",
        "Zuora API calls",
        "customers provisioned",
        "change → local commit      p50",
        "OK: the local copy equals Zuora's state",
    ):
        assert line in result.stdout
