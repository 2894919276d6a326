"""`make run`: the long-running service on this machine, until Ctrl-C.

Against Zuora when ZUORA_BASE_URL, ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET are
set; otherwise against an emulator it starts and seeds.
"""

import argparse
import os
import signal
import sys
import time

from launcher.stack import Stack, StackConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="web server port")
    parser.add_argument("--emulator-port", type=int, default=8081)
    parser.add_argument("--accounts", type=int, default=50, help="accounts the emulator seeds")
    parser.add_argument("--workers", type=int, default=1, help="task worker processes")
    arguments = parser.parse_args(argv)

    real_zuora = all(
        os.environ.get(name)
        for name in ("ZUORA_BASE_URL", "ZUORA_CLIENT_ID", "ZUORA_CLIENT_SECRET")
    )
    config = StackConfig(
        web_port=arguments.port,
        emulator_port=arguments.emulator_port,
        emulator_accounts=arguments.accounts,
        workers=arguments.workers,
        emulator=not real_zuora,
        database_url=os.environ.get("DATABASE_URL", ""),
    )
    if real_zuora:
        config.zuora_base_url = os.environ["ZUORA_BASE_URL"]
        config.zuora_client_id = os.environ["ZUORA_CLIENT_ID"]
        config.zuora_client_secret = os.environ["ZUORA_CLIENT_SECRET"]
        if os.environ.get("ZUORA_CALLOUT_CREDENTIALS"):
            user, _, password = os.environ["ZUORA_CALLOUT_CREDENTIALS"].split(",")[0].partition(":")
            config.callout_username, config.callout_password = user, password
    stack = Stack(config)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print("Starting… (logs in var/logs/)", flush=True)
        stack.start(backfill=not real_zuora)
        print(f"""
The service is running:
  callouts   {config.web_url}/api/v1/zuora/callouts/sync_account
             {config.web_url}/api/v1/zuora/callouts/sync_account_contact
             (HTTP Basic user {config.callout_username!r})
  admin      {config.web_url}/admin/   (create a user: .venv/bin/python manage.py createsuperuser)
  portal     {config.web_url}/
  health     {config.web_url}/healthz  {config.web_url}/readyz
  metrics    {config.web_url}/metrics
  emails     {config.var_dir / "mail"}/  (portal invitations, unless EMAIL_HOST is set)""")
        if config.emulator:
            print(f"  emulator   {config.emulator_url}  (Zuora stand-in; see docs/emulator.md)")
        else:
            print(f"  Zuora      {config.zuora_base_url}")
        print("Press Ctrl-C to stop.", flush=True)
        while True:
            stack.supervisor.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    finally:
        print("Stopping…", flush=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
