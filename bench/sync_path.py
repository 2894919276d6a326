# ruff: noqa: T201 (it talks to its driver on stdout)
"""A worker's whole path for syncs, one at a time, driven over stdin (`bench.instructions`).

`python -m bench.sync_path <account|contact> <count>`, in a stack's environment
with its objects stored: for each of `count` stored objects of that kind, its
callout recorded as the endpoint records it (`record_callouts`: the receipt,
the pending row, the task row, the wake-up; on PostgreSQL one statement), the
dispatcher's claim, and the task run as a `sync_worker` thread runs it (claim
of the object, fetch from Zuora, reconciliation, the task's result). The tasks
already queued run first, then two syncs warm the caches; then it prints READY
and waits for a line, runs the syncs, prints DONE and waits for a line again,
so that whoever counts can count exactly the syncs.
"""

import sys

WARM_UP_SYNCS = 2  # before the counted ones, of objects the counted ones leave alone


def main(kind: str, count: int) -> None:
    import django

    django.setup()
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from billing.models import BillingAccount, BillingAccountContact, SyncKind
    from billing.sync.queue import Callout, record_callouts
    from billing.worker import ConcurrentWorker, settle_worker_heap

    if kind == SyncKind.ACCOUNT:
        stored = list(
            BillingAccount.objects.order_by("zuora_id").values_list("zuora_id", "zuora_id")
        )
    else:
        # A contact's callout names its account, as the callout guide sets it up.
        stored = list(
            BillingAccountContact.objects.order_by("zuora_id").values_list(
                "zuora_id", "billing_account__zuora_id"
            )
        )
    if len(stored) < count + WARM_UP_SYNCS:
        raise SystemExit(f"{len(stored)} {kind} objects stored; {count + WARM_UP_SYNCS} needed")
    settle_worker_heap()  # as sync_worker does
    worker = ConcurrentWorker(threads=1, interval=1.0, worker_id="sync-path")

    def run(task: DBTaskResult) -> None:
        worker.slots.acquire()  # what the dispatcher does before it hands a task on
        worker._run(task)
        if task.status != TaskResultStatus.SUCCESSFUL:
            raise SystemExit(f"{task.task_path} ended {task.status}")

    def sync(zuora_id: str, account_zuora_id: str) -> None:
        # As the callout endpoint records it (on PostgreSQL one statement).
        named = account_zuora_id if kind == SyncKind.CONTACT else ""
        record_callouts([Callout(kind=SyncKind(kind), zuora_id=zuora_id, account_zuora_id=named)])
        tasks = worker._claim(limit=1)
        if [task.args_kwargs["args"] for task in tasks] != [[kind, zuora_id]]:
            raise SystemExit(f"claimed {tasks} for the sync of {kind} {zuora_id}")
        run(tasks[0])

    # Tasks left by the import (invitations to the Sold-To customers) first:
    # each claim takes the oldest ready task.
    while leftover := worker._claim(limit=1):
        run(leftover[0])
    for zuora_id, account_zuora_id in stored[-WARM_UP_SYNCS:]:
        sync(zuora_id, account_zuora_id)
    print("READY", flush=True)
    sys.stdin.readline()
    for zuora_id, account_zuora_id in stored[:count]:
        sync(zuora_id, account_zuora_id)
    print("DONE", flush=True)
    sys.stdin.readline()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
