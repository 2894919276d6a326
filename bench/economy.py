"""API economy of callouts: bursts of callouts for one object cost about one fetch."""

import random
from urllib.parse import urlsplit

from bench import openload
from bench.ingest import CALLOUT_PATH
from bench.report import Figure, Report
from bench.services import emulator
from bench.sizes import Sizes
from launcher.scenario import wait_until_quiet
from launcher.stack import Stack

FETCH = "GET /object-query/accounts/{key}"
# Bursts of different objects start this far apart, so that they overlap.
BURST_SPACING = 0.02


def bursts(report: Report, sizes: Sizes, stack: Stack) -> None:
    """`burst_callouts` callouts within `burst_window_ms` for each of `burst_objects` accounts."""
    from billing.models import BillingAccount

    config = stack.config
    address = urlsplit(config.web_url)
    accounts = list(
        BillingAccount.objects.order_by("zuora_id").values_list("zuora_id", flat=True)[
            : sizes.burst_objects
        ]
    )
    rng = random.Random(10)  # noqa: S311 (request ids, not secrets)
    step = sizes.burst_window_ms / 1000 / max(1, sizes.burst_callouts)
    schedule = sorted(
        (
            number * BURST_SPACING + index * step,
            openload.callout_request(
                host=address.netloc,
                path=CALLOUT_PATH,
                username=config.callout_username,
                password=config.callout_password,
                account_id=zuora_id,
                request_id=f"{rng.getrandbits(128):032x}",
            ),
        )
        for number, zuora_id in enumerate(accounts)
        for index in range(sizes.burst_callouts)
    )
    wait_until_quiet(stack, timeout=60)
    emulator(stack, "DELETE", "request-counts")
    result = openload.run(address.hostname or "127.0.0.1", address.port or 80, schedule)
    wait_until_quiet(stack, timeout=120)
    counts = emulator(stack, "GET", "request-counts")["counts"]
    per_object = counts.get(FETCH, 0) / max(1, len(accounts))
    report.add(
        Figure(
            "economy.fetches_per_object",
            f"economy: fetches per object, {sizes.burst_callouts} callouts in "
            f"{sizes.burst_window_ms:.0f} ms each",
            "fetches",
            per_object,
            reference="limit 1.0",
            goal="≤ 1.2",
            passed=per_object <= 1.2,
            details={
                "objects": len(accounts),
                "callouts_answered_200": result.ok,
                "callouts_failed": result.failed,
                "callout_statuses": result.statuses,
                "zuora_calls": counts,
                "api_latency_ms": sizes.api_latency_ms,
            },
        )
    )
