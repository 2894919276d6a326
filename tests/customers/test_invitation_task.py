"""Invitations from provisioning go through the task queue: an import never waits for mail."""

from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from billing.worker import ConcurrentWorker
from customers.models import Customer, ProvisioningAction, ProvisioningEvent
from customers.provisioning import provision_sold_to_accounts
from tests.customers.conftest import account_with_sold_to

pytestmark = pytest.mark.django_db(transaction=True)

TASK_PATH = "customers.tasks.send_set_password_links_task"


@pytest.fixture
def in_background(settings: Any) -> None:
    settings.CUSTOMER_EMAILS_IN_BACKGROUND = True


def run_ready_tasks() -> int:
    """What a `sync_worker` does with the ready tasks, in this process."""
    worker = ConcurrentWorker(threads=10, interval=1.0, worker_id="test")
    tasks = worker._claim(limit=10)
    for task in tasks:
        worker.run_task(task)
    return len(tasks)


@pytest.mark.usefixtures("in_background")
def test_provisioning_queues_the_invitations_with_its_own_commit() -> None:
    accounts = [account_with_sold_to(f"person{n}@example.com") for n in range(3)]
    mail.outbox.clear()

    with transaction.atomic():
        provision_sold_to_accounts(account.pk for account in accounts)
        # Queued in the same transaction: never a customer without their invitation.
        assert DBTaskResult.objects.filter(task_path=TASK_PATH).count() == 1
    assert mail.outbox == []

    assert run_ready_tasks() == 1

    assert sorted(message.to[0] for message in mail.outbox) == [
        f"person{n}@example.com" for n in range(3)
    ]
    assert all("/set-password/" in message.body for message in mail.outbox)
    assert ProvisioningEvent.objects.filter(action=ProvisioningAction.EMAIL_SENT).count() == 3
    assert DBTaskResult.objects.get(task_path=TASK_PATH).return_value == 3


@pytest.mark.usefixtures("in_background")
def test_a_rolled_back_provisioning_queues_nothing() -> None:
    account = account_with_sold_to("someone@example.com")

    def provision_then_fail() -> None:
        with transaction.atomic():
            provision_sold_to_accounts([account.pk])
            raise RuntimeError("the sync failed after provisioning")

    with pytest.raises(RuntimeError):
        provision_then_fail()

    assert not DBTaskResult.objects.filter(task_path=TASK_PATH).exists()
    assert not Customer.objects.exists()
