"""The admin shows billing accounts with their contacts and members, as staff use it."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing.models import SyncKind
from billing.sync.queue import Callout, record_callouts
from customers.models import Customer, CustomerOrigin
from tests.factories import (
    BillingAccountContactFactory,
    BillingAccountFactory,
    CustomerFactory,
    MembershipFactory,
    zuora_id,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    admin = Customer.objects.create_superuser("admin@example.com", "a long password 123")
    client.force_login(admin)
    return client


def test_createsuperuser_makes_an_admin_who_can_sign_in(client: Client) -> None:
    call_command("createsuperuser", "--noinput", email="Boss@Example.com", stdout=None, stderr=None)
    boss = Customer.objects.get(email__iexact="boss@example.com")
    boss.set_password("a long password 123")
    boss.save()

    assert client.login(username="boss@example.com", password="a long password 123")
    assert client.get(reverse("admin:index")).status_code == 200
    assert boss.origin == CustomerOrigin.ADMIN


def test_account_page_shows_contacts_and_members_inline(staff_client: Client) -> None:
    account = BillingAccountFactory(name="Acme GmbH")
    contact = BillingAccountContactFactory(billing_account=account, work_email="ops@acme.test")
    account.bill_to_contact = account.sold_to_contact = contact
    account.save()
    MembershipFactory(billing_account=account, customer=CustomerFactory(email="m@acme.test"))

    page = staff_client.get(reverse("admin:billing_billingaccount_change", args=[account.pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert "ops@acme.test" in body
    assert "m@acme.test" in body


@pytest.mark.parametrize("term", ["by_number", "by_zuora_id", "by_contact_email"])
def test_account_list_searches_number_zuora_id_and_contact_email(
    staff_client: Client, term: str
) -> None:
    account = BillingAccountFactory(account_number="A-FIND-ME")
    BillingAccountContactFactory(billing_account=account, work_email="needle@acme.test")
    BillingAccountContactFactory(billing_account=account, work_email="needle2@acme.test")
    BillingAccountFactory(account_number="A-OTHER")
    query = {
        "by_number": "FIND-ME",
        "by_zuora_id": account.zuora_id,
        "by_contact_email": "needle",
    }[term]

    page = staff_client.get(reverse("admin:billing_billingaccount_changelist"), {"q": query})

    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [account]


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:billing_billingaccountcontact_changelist",
        "admin:billing_billingaccountmembership_changelist",
        "admin:customers_customer_changelist",
        "admin:customers_customer_add",
        "admin:billing_billingaccount_add",
    ],
)
def test_admin_pages_render(staff_client: Client, url_name: str) -> None:
    BillingAccountContactFactory()
    MembershipFactory()
    assert staff_client.get(reverse(url_name), {"q": "example"}).status_code == 200


def test_admin_adds_a_customer_recorded_as_created_by_an_admin(staff_client: Client) -> None:
    response = staff_client.post(
        reverse("admin:customers_customer_add"),
        {
            "email": "New@Example.com",
            "password1": "x7!long-enough",
            "password2": "x7!long-enough",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Customer.objects.get(email__iexact="new@example.com").origin == CustomerOrigin.ADMIN


def test_pending_syncs_are_found_by_the_account_a_contact_callout_named(
    staff_client: Client,
) -> None:
    account_id, contact_id = zuora_id(), zuora_id()
    record_callouts(
        [
            Callout(kind=SyncKind.CONTACT, zuora_id=contact_id, account_zuora_id=account_id),
            Callout(kind=SyncKind.CONTACT, zuora_id=zuora_id()),
        ]
    )

    page = staff_client.get(reverse("admin:billing_pendingsync_changelist"), {"q": account_id})

    assert page.status_code == 200
    assert [row.zuora_id for row in page.context["cl"].result_list] == [contact_id]
    assert account_id in page.content.decode()
