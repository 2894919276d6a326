# ruff: noqa: T201 (it talks to its driver on stdout)
"""A worker's whole path for syncs, one at a time, driven over stdin (`bench.instructions`).

`python -m bench.sync_path <account|contact> <count>`, in a stack's environment
with its objects stored: for each of `count` stored objects of that kind, a
request as a callout makes it (the pending row, the task row, the wake-up), the
dispatcher's claim, and the task run as a `sync_worker` thread runs it (claim
of the object, fetch from Zuora, reconciliation, the task's result). Two syncs
first warm the caches; then it prints READY and waits for a line, runs the
syncs, prints DONE and waits for a line again, so that whoever counts can
count exactly the syncs.
"""

import sys


def main(kind: str, count: int) -> None:
    import django

    django.setup()
    from django.db import transaction

    from billing.models import BillingAccount, BillingAccountContact, SyncKind
    from billing.sync import queue
    from billing.worker import ConcurrentWorker

    model = BillingAccount if kind == SyncKind.ACCOUNT else BillingAccountContact
    stored = list(model.objects.order_by("zuora_id").values_list("zuora_id", flat=True))
    if len(stored) < count + 2:
        raise SystemExit(f"{len(stored)} {kind} objects stored; {count + 2} needed")
    worker = ConcurrentWorker(threads=1, interval=1.0, worker_id="sync-path")

    def sync(zuora_id: str) -> None:
        with transaction.atomic():
            queue.request(kind=SyncKind(kind), zuora_id=zuora_id)
        tasks = worker._claim(limit=1)
        if len(tasks) != 1:
            raise SystemExit(f"claimed {len(tasks)} tasks for one request")
        worker.slots.acquire()  # what the dispatcher does before it hands a task on
        worker._run(tasks[0])
        if tasks[0].status != "SUCCESSFUL":
            raise SystemExit(f"the sync task ended {tasks[0].status}")

    for zuora_id in stored[-2:]:
        sync(zuora_id)
    print("READY", flush=True)
    sys.stdin.readline()
    for zuora_id in stored[:count]:
        sync(zuora_id)
    print("DONE", flush=True)
    sys.stdin.readline()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
