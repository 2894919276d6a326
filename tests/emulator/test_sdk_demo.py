"""The SDK demo script works against an emulator, and so does the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from zuora_emulator.testing import running_emulator

ROOT = Path(__file__).resolve().parents[2]


def test_sdk_demo_script_runs_against_the_emulator() -> None:
    with running_emulator(seed=8, accounts=45) as zuora:
        result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [
                sys.executable,
                str(ROOT / "scripts" / "emulator_sdk_demo.py"),
                "--base-url",
                zuora.base_url,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
            check=False,
        )
        creates = zuora.request_count("POST /v1/accounts")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
    assert "paged through 46 accounts in 3 pages" in result.stdout
    assert creates == 1


def test_command_line_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zuora_emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )

    assert result.returncode == 0
    for flag in ("--port", "--seed", "--callout-base-url", "--faults", "--state-file"):
        assert flag in result.stdout


def test_command_line_flags_map_to_options() -> None:
    from zuora_emulator.__main__ import options_from, parse_args

    options = options_from(
        parse_args(
            [
                "--seed",
                "4",
                "--accounts",
                "10",
                "--token-lifetime",
                "60",
                "--callout-base-url",
                "http://127.0.0.1:9000/zuora",
                "--callout-basic-auth",
                "user:pw",
                "--faults",
                '{"error_probability": 0.1}',
                "--no-bump-updated-date",
            ]
        )
    )

    assert (options.seed, options.accounts, options.token_lifetime) == (4, 10, 60)
    assert options.callout_auth == {
        "calloutAuth": {"username": "user", "password": "pw", "preemptive": False}
    }
    assert options.faults == {"error_probability": 0.1}
    assert options.bump_updated_date is False
