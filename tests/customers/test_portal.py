"""The portal: an emailed link sets a password, then the customer signs in and sees the account."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingAccount
from customers.models import Customer
from customers.provisioning import provision_sold_to
from tests.customers.conftest import account_with_sold_to, link_in
from tests.factories import BillingAccountFactory, CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]
PASSWORD = "a long and quite unusual passphrase 42"


def provision(account: BillingAccount, capture: Capture) -> None:
    with capture(execute=True):
        provision_sold_to(account_id=account.pk)


def set_password(client: Client, link: str, password: str = PASSWORD) -> Any:
    # Django's token view first trades the token in the URL for one in the session.
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"], "the link should be valid"
    return client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
        follow=True,
    )


def sign_in(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post(
        reverse("customers:sign-in"), {"username": email, "password": password}, follow=True
    )


def test_invited_customer_sets_a_password_signs_in_and_sees_the_account(
    client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    account = account_with_sold_to("Grace@Example.com", first_name="Grace")
    provision(account, django_capture_on_commit_callbacks)
    (invitation,) = mail.outbox
    assert "Hello Grace" in invitation.body

    done = set_password(client, link_in(invitation))
    assert "Your password is set" in done.content.decode()

    customer = Customer.objects.get()
    assert customer.email_verified
    page = sign_in(client, "grace@example.com")
    assert page.request["PATH_INFO"] == reverse("customers:billing-accounts")
    content = page.content.decode()
    assert account.account_number in content
    assert account.name in content


def test_an_invitation_link_works_only_once(
    client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    account = account_with_sold_to("grace@example.com")
    provision(account, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    set_password(client, link)

    again = Client().get(link, follow=True)

    assert not again.context["validlink"]
    assert "no longer works" in again.content.decode()


def test_unverified_customer_sees_the_account_only_after_confirming(
    client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    CustomerFactory(email="grace@example.com", password=PASSWORD)
    account = account_with_sold_to("grace@example.com")
    provision(account, django_capture_on_commit_callbacks)

    before = sign_in(client, "grace@example.com").content.decode()
    assert account.account_number not in before
    assert "Waiting for you to confirm your email address" in before

    # Whoever signed up with this address must prove it, and ends up with the
    # password chosen from the mailbox.
    set_password(Client(), link_in(mail.outbox[0]), "another long passphrase 77")

    after = sign_in(Client(), "grace@example.com", "another long passphrase 77")
    assert account.account_number in after.content.decode()
    # The old password, and the session made with it, no longer work.
    assert client.get(reverse("customers:billing-accounts")).status_code == 302


def test_billing_accounts_page_needs_signing_in(client: Client) -> None:
    response = client.get(reverse("customers:billing-accounts"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customers:sign-in"))


def test_customer_sees_only_their_own_active_accounts(client: Client) -> None:
    customer = CustomerFactory(email="ann@example.com", password=PASSWORD)
    mine = MembershipFactory(customer=customer).billing_account
    theirs = BillingAccountFactory()
    MembershipFactory(billing_account=theirs)

    content = sign_in(client, "ann@example.com").content.decode()

    assert mine.account_number in content
    assert theirs.account_number not in content


def test_a_new_link_can_be_requested_for_a_known_address(client: Client) -> None:
    customer = CustomerFactory(email="ann@example.com")

    response = client.post(reverse("customers:request-link"), {"email": "ANN@example.com"})

    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["ann@example.com"]]
    set_password(client, link_in(mail.outbox[0]))
    customer.refresh_from_db()
    assert customer.email_verified_at is not None
    assert customer.email_verified_at <= timezone.now()


def test_asking_for_a_link_for_an_unknown_address_looks_the_same(client: Client) -> None:
    response = client.post(
        reverse("customers:request-link"), {"email": "nobody@example.com"}, follow=True
    )

    assert "Check your inbox" in response.content.decode()
    assert mail.outbox == []
