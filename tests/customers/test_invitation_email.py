"""Set-password emails: sent after commit, and a mail server failure is recorded, not raised."""

import smtplib
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.test import override_settings

from customers import checks, invitations
from customers.models import ProvisioningAction, ProvisioningEvent
from customers.provisioning import provision_sold_to
from tests.customers.conftest import account_with_sold_to
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def test_no_email_leaves_before_the_provisioning_commits(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        provision_sold_to(account_id=account_with_sold_to("grace@example.com").pk)

    assert mail.outbox == []
    assert len(callbacks) == 1


@override_settings(PORTAL_BASE_URL="https://portal.example.com")
def test_the_link_points_at_the_portal(django_capture_on_commit_callbacks: Capture) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        provision_sold_to(account_id=account_with_sold_to("grace@example.com").pk)

    assert "https://portal.example.com/portal/set-password/" in mail.outbox[0].body
    assert "https://portal.example.com/portal/new-link/" in mail.outbox[0].body


def test_a_mail_server_failure_is_recorded(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Capture
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = provision_sold_to(account_id=account_with_sold_to("grace@example.com").pk)

    assert outcome.created_customer
    assert ProvisioningEvent.objects.filter(action=ProvisioningAction.EMAIL_FAILED).exists()


@override_settings(DEBUG=False, SOLD_TO_PROVISIONING_ENABLED=True)
def test_missing_portal_address_in_production_is_a_warning() -> None:
    with override_settings(PORTAL_BASE_URL_FROM_ENVIRONMENT=False):
        assert [m.id for m in checks.check_portal_base_url()] == ["customers.W001"]
    with override_settings(PORTAL_BASE_URL_FROM_ENVIRONMENT=True):
        assert checks.check_portal_base_url() == []


def test_links_of_a_batch_share_one_connection_and_a_refusal_stops_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customers = [CustomerFactory(email=f"c{n}@example.com") for n in range(3)]
    opened: list[int] = []
    send = locmem.EmailBackend.send_messages

    def open_once(self: locmem.EmailBackend) -> bool:
        opened.append(id(self))
        return True

    def refuse_the_second(self: locmem.EmailBackend, messages: Any) -> int:
        if messages[0].to == ["c1@example.com"]:
            raise smtplib.SMTPRecipientsRefused({})
        return send(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "open", open_once)
    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse_the_second)

    sent = invitations.send_set_password_links(
        [(customer.pk, invitations.LinkPurpose.INVITATION) for customer in customers]
    )

    assert sent == 2
    assert len(opened) == 1
    assert [message.to for message in mail.outbox] == [["c0@example.com"], ["c2@example.com"]]
    assert list(
        ProvisioningEvent.objects.order_by("pk").values_list("customer__email", "action")
    ) == [
        ("c0@example.com", ProvisioningAction.EMAIL_SENT),
        ("c1@example.com", ProvisioningAction.EMAIL_FAILED),
        ("c2@example.com", ProvisioningAction.EMAIL_SENT),
    ]
