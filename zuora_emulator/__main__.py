"""``python -m zuora_emulator``: run the Zuora emulator as a server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import uvicorn

from zuora_emulator.app import create_app
from zuora_emulator.connections import ResettableH11Protocol
from zuora_emulator.options import EmulatorOptions


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; every flag maps to an EmulatorOptions field."""
    d = EmulatorOptions
    p = argparse.ArgumentParser(
        prog="python -m zuora_emulator",
        description="A stand-in for Zuora's REST v1, Object Query and callouts. "
        "Control endpoints live under /_emulator/ (see docs/emulator.md).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8081, help="port to listen on (default 8081)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed for ids, data and faults")
    p.add_argument("--accounts", type=int, default=d.accounts, help="accounts to seed")
    p.add_argument("--client-id", help="OAuth client id (default: derived from --seed)")
    p.add_argument("--client-secret", help="OAuth client secret (default: from --seed)")
    p.add_argument(
        "--token-lifetime",
        type=float,
        default=d.token_lifetime,
        help="OAuth token lifetime in seconds (default 3599)",
    )
    p.add_argument(
        "--tenant-timezone",
        default=d.tenant_timezone,
        help="IANA zone for rendered timestamps (default America/Los_Angeles)",
    )
    p.add_argument(
        "--default-version",
        default=d.default_version,
        help="Zuora-Version when a request sends none (default 186.0)",
    )
    p.add_argument(
        "--callout-base-url", help="install the default callout definitions against this base URL"
    )
    p.add_argument(
        "--callout-definitions", type=Path, help="JSON file with a list of notification definitions"
    )
    p.add_argument(
        "--callout-basic-auth",
        metavar="USER:PASSWORD",
        help="Basic credentials for the default definitions",
    )
    p.add_argument(
        "--callout-preemptive",
        action="store_true",
        help="send Basic credentials on the first request",
    )
    p.add_argument("--callout-hmac-secret", help="sign default callouts with HMAC-SHA256")
    p.add_argument(
        "--callout-hmac-header",
        default="X-Zuora-Signature",
        help="header carrying the HMAC signature",
    )
    p.add_argument("--callout-attempts", type=int, default=d.callout_attempts)
    p.add_argument(
        "--callout-interval",
        type=float,
        default=d.callout_interval,
        help="seconds between callout attempts (Zuora: 1800)",
    )
    p.add_argument("--callout-timeout", type=float, default=d.callout_timeout)
    p.add_argument(
        "--callout-concurrency",
        type=int,
        default=d.callout_concurrency,
        help="callouts delivered at once; the rest wait in order",
    )
    p.add_argument("--faults", help="JSON object of fault settings, or @file.json")
    p.add_argument("--state-file", help="load state from / save state to this JSON file")
    p.add_argument(
        "--no-bump-updated-date", action="store_true", help="changes do not move updatedDate"
    )
    p.add_argument(
        "--allow-referenced-contact-delete",
        action="store_true",
        help="let a current Bill-To/Sold-To contact be deleted",
    )
    p.add_argument("--account-delete-delay", type=float, default=d.account_delete_delay)
    p.add_argument("--rate-limit-per-minute", type=int, default=d.rate_limit_per_minute)
    p.add_argument("--concurrency-limit", type=int, default=d.concurrency_limit)
    p.add_argument("--log-level", default="info")
    return p.parse_args(argv)


def options_from(args: argparse.Namespace) -> EmulatorOptions:
    """Turn parsed flags into EmulatorOptions."""
    faults: dict[str, Any] = {}
    if args.faults:
        text = Path(args.faults[1:]).read_text() if args.faults.startswith("@") else args.faults
        faults = json.loads(text)
    auth: dict[str, Any] = {}
    if args.callout_basic_auth:
        user, _, password = args.callout_basic_auth.partition(":")
        auth["calloutAuth"] = {
            "username": user,
            "password": password,
            "preemptive": args.callout_preemptive,
        }
    if args.callout_hmac_secret:
        auth.update(
            {
                "hmacAlgorithm": "SHA-256",
                "hmacOutputFormat": "BASE64",
                "hmacSecret": args.callout_hmac_secret,
                "hmacData": "{{Request.Body}}",
                "hmacKey": args.callout_hmac_header,
                "hmacValue": "{{Request.HMAC.Signed}}",
            }
        )
    definitions = None
    if args.callout_definitions:
        definitions = json.loads(args.callout_definitions.read_text())
    return EmulatorOptions(
        seed=args.seed,
        accounts=args.accounts,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_lifetime=args.token_lifetime,
        tenant_timezone=args.tenant_timezone,
        default_version=args.default_version,
        callout_base_url=args.callout_base_url,
        callout_definitions=definitions,
        callout_auth=auth or None,
        callout_attempts=args.callout_attempts,
        callout_interval=args.callout_interval,
        callout_timeout=args.callout_timeout,
        callout_concurrency=args.callout_concurrency,
        faults=faults,
        state_file=args.state_file,
        bump_updated_date=not args.no_bump_updated_date,
        refuse_referenced_contact_delete=not args.allow_referenced_contact_delete,
        account_delete_delay=args.account_delete_delay,
        rate_limit_per_minute=args.rate_limit_per_minute,
        concurrency_limit=args.concurrency_limit,
    )


def main(argv: list[str] | None = None) -> int:
    """Run until interrupted; prints the base URL and OAuth credentials first."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = options_from(args)
    app = create_app(options)
    sys.stderr.write(
        f"Zuora emulator on http://{args.host}:{args.port}\n"
        f"  client_id={options.client_id}\n  client_secret={options.client_secret}\n"
    )
    uvicorn.run(
        app, host=args.host, port=args.port, http=ResettableH11Protocol, log_level=args.log_level
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
