"""Set-password links: the invitation, the address confirmation and a new link on request.

All three carry Django's password-reset token. Following one and choosing a
password proves that the person reads mail at the address, and leaves them
the only one who knows the account's password.
"""

import contextlib
import logging
import smtplib
from collections.abc import Iterable
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from customers.email_address import customers_with_email
from customers.models import Customer, ProvisioningAction, ProvisioningEvent

logger = logging.getLogger(__name__)


class SetPasswordTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset token, minus the last sign-in.

    Signing in must not kill a confirmation link the customer has not followed
    yet; setting a password (the hash changes) still makes every link single-use.
    """

    key_salt = "customers.invitations.SetPasswordTokenGenerator"

    def _make_hash_value(self, user: Customer, timestamp: int) -> str:  # type: ignore[override]
        return f"{user.pk}{user.password}{timestamp}{user.email}{user.email_verified_at}"


set_password_tokens = SetPasswordTokenGenerator()


class LinkPurpose(StrEnum):
    INVITATION = "invitation"
    ADDRESS_CONFIRMATION = "address_confirmation"
    NEW_LINK = "new_link"


SUBJECTS = {
    LinkPurpose.INVITATION: "You have been given access to your billing account",
    LinkPurpose.ADDRESS_CONFIRMATION: "Confirm your email address to access your billing account",
    LinkPurpose.NEW_LINK: "Your link to set a password",
}


def purpose_for(*, has_usable_password: bool) -> LinkPurpose:
    """Invite who has never set a password; ask the others to confirm their address."""
    if has_usable_password:
        return LinkPurpose.ADDRESS_CONFIRMATION
    return LinkPurpose.INVITATION


def set_password_url(customer: Customer) -> str:
    """An absolute link to the set-password page, valid until used or expired."""
    path = reverse(
        "customers:set-password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(customer.pk)),
            "token": set_password_tokens.make_token(customer),
        },
    )
    return f"{settings.PORTAL_BASE_URL}{path}"


def send_set_password_link(*, customer_id: int, purpose: LinkPurpose) -> bool:
    """Email an active customer a set-password link; records the attempt, never raises on SMTP."""
    return send_set_password_links([(customer_id, purpose)]) == 1


def send_set_password_links(links: Iterable[tuple[int, LinkPurpose]]) -> int:
    """Email set-password links to active customers over one mail server connection.

    Each attempt is recorded; a refused message does not stop the others, and
    nothing is raised on SMTP errors. Returns how many were sent.
    """
    links = list(links)
    customers = Customer.objects.filter(
        pk__in={customer_id for customer_id, _ in links}, is_active=True
    ).in_bulk()
    events: list[ProvisioningEvent] = []
    mailer = mailers.default
    try:
        if customers:
            _open_quietly(mailer)
        for customer_id, purpose in links:
            customer = customers.get(customer_id)
            if customer is None:
                continue
            events.append(_send(mailer, customer, purpose))
    finally:
        _close_quietly(mailer)
    ProvisioningEvent.objects.bulk_create(events)
    return sum(event.action == ProvisioningAction.EMAIL_SENT for event in events)


def send_set_password_links_later(links: list[tuple[int, LinkPurpose]]) -> None:
    """Send these links once the caller's transaction commits, from a task worker.

    Composing and sending a message takes milliseconds (far more with a
    remote mail server), which an import of thousands of new customers, or a
    sync, should not wait for. With the database task backend the task row
    commits with the caller's work, so a customer is never provisioned
    without their invitation queued. `CUSTOMER_EMAILS_IN_BACKGROUND` off
    sends them in this process at commit.
    """
    from billing.sync.queue import queue_in_this_transaction, wake_workers
    from customers.tasks import send_set_password_links_task

    if not settings.CUSTOMER_EMAILS_IN_BACKGROUND:
        transaction.on_commit(partial(send_set_password_links, links), robust=True)
        return
    arguments = [[customer_id, str(purpose)] for customer_id, purpose in links]
    if queue_in_this_transaction():
        send_set_password_links_task.enqueue(arguments)
        wake_workers()
    else:
        transaction.on_commit(partial(send_set_password_links_task.enqueue, arguments), robust=True)


def _send(mailer: BaseEmailBackend, customer: Customer, purpose: LinkPurpose) -> ProvisioningEvent:
    body = render_to_string(
        "customers/email/set_password_link.txt",
        {
            "purpose": str(purpose),
            "customer": customer,
            "link": set_password_url(customer),
            "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
            "new_link_url": f"{settings.PORTAL_BASE_URL}{reverse('customers:request-link')}",
        },
    )
    message = EmailMultiAlternatives(SUBJECTS[purpose], body, None, [customer.email])
    what = purpose.replace("_", " ").capitalize()
    try:
        mailer.send_messages([message])
    except (smtplib.SMTPException, OSError):
        logger.exception(
            "could not send a set-password link",
            extra={"customer_id": customer.pk, "purpose": str(purpose)},
        )
        # The next message opens a new connection.
        _close_quietly(mailer)
        return ProvisioningEvent(
            action=ProvisioningAction.EMAIL_FAILED,
            customer=customer,
            reason=f"{what}: the mail server refused it.",
        )
    return ProvisioningEvent(
        action=ProvisioningAction.EMAIL_SENT, customer=customer, reason=f"{what}."
    )


def _open_quietly(mailer: BaseEmailBackend) -> None:
    """Open one connection for all the messages; if that fails, each message tries again."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        mailer.open()


def _close_quietly(mailer: BaseEmailBackend) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        mailer.close()


def send_new_link(*, email: str) -> None:
    """Someone asked for a new link for this address: mail it there, if a customer has it."""
    for customer_id in (
        customers_with_email(email).filter(is_active=True).values_list("pk", flat=True)
    ):
        send_set_password_link(customer_id=customer_id, purpose=LinkPurpose.NEW_LINK)
