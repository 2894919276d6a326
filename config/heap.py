"""Garbage collection for the long-running processes (a pass, a worker, a web process).

A pass or a sync allocates millions of short-lived objects. With the
interpreter's default thresholds a young collection runs every 2,000 net
allocations and every hundredth one walks the whole heap, including the
hundreds of thousands of objects Django and the libraries created at start-up
and keep until exit. `gc.freeze()` sets those aside for good. A pass also
collects young objects less often: with both, a full import of 10,000
accounts spends about 9 % less CPU (docs/performance.md). Reference counting
still frees almost everything at once; only cycles wait a little longer.

A web process collects the whole heap every few seconds under load, and
every request it holds waits meanwhile: 45 to 90 ms per full collection of
an unsettled web process under the ingest benchmark's load, against 20 to
35 ms once start-up's objects (views included) are set aside
(docs/performance.md).
"""

import gc

# Young collections after this many net allocations (default 2,000); the
# older generations after this many collections of the one below (10, 10).
THRESHOLDS = (20_000, 50, 100)


def settle_start_up_objects(*, collect_less_often: bool = False) -> None:
    """Call once start-up is over (settings read, apps and commands imported).

    `collect_less_often` raises the thresholds as well: for a pass, which
    ends. A worker keeps the defaults: fewer collections saved it under 1 %
    of a sync's instructions and cost it about 6 MiB.
    """
    gc.collect()
    gc.freeze()
    if collect_less_often:
        gc.set_threshold(*THRESHOLDS)


def settle_web_process() -> None:
    """For a web server's entry point, once the application is built: import
    every view (Django would at the first request) and set it all aside."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the property imports the views)
    settle_start_up_objects()
