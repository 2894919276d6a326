"""Staff see what provisioning did and why: the audit trail, problems and waiting access."""

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import BillingAccountMembership
from customers.models import Customer, ProvisioningEvent
from customers.provisioning import provision_sold_to
from tests.customers.conftest import account_with_sold_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    admin = Customer.objects.create_superuser("admin@example.com", "a long password 123")
    client.force_login(admin)
    return client


def test_the_audit_trail_lists_creations_and_grants_with_reasons(staff_client: Client) -> None:
    account = account_with_sold_to("grace@example.com")
    provision_sold_to(account_id=account.pk)

    page = staff_client.get(reverse("admin:customers_provisioningevent_changelist"))

    content = page.content.decode()
    assert "Created the customer" in content
    assert "Granted access" in content
    assert "waits until the customer confirms their email address" in content


def test_the_audit_trail_cannot_be_edited(staff_client: Client) -> None:
    account = account_with_sold_to("grace@example.com")
    provision_sold_to(account_id=account.pk)
    event = ProvisioningEvent.objects.first()

    change = staff_client.post(
        reverse("admin:customers_provisioningevent_change", args=[event.pk]), {"reason": "x"}
    )
    delete = staff_client.post(
        reverse("admin:customers_provisioningevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert change.status_code == 403
    assert delete.status_code == 403
    assert ProvisioningEvent.objects.get(pk=event.pk).reason != "x"


def test_accounts_with_a_provisioning_problem_can_be_listed(staff_client: Client) -> None:
    broken = account_with_sold_to("grace at example.com")
    fine = account_with_sold_to("ann@example.com")
    provision_sold_to(account_id=broken.pk)
    provision_sold_to(account_id=fine.pk)

    page = staff_client.get(
        reverse("admin:billing_billingaccount_changelist"), {"provisioning": "problem"}
    )

    content = page.content.decode()
    assert broken.account_number in content
    assert fine.account_number not in content
    assert "email address is not valid" in content


def test_membership_list_shows_whether_access_is_active(staff_client: Client) -> None:
    provision_sold_to(account_id=account_with_sold_to("grace@example.com").pk)

    page = staff_client.get(
        reverse("admin:billing_billingaccountmembership_changelist"),
        {"activated_at__isnull": "True"},
    )

    assert page.status_code == 200
    assert page.context["cl"].result_count == BillingAccountMembership.objects.count() == 1


def test_customer_page_shows_its_provisioning_events(staff_client: Client) -> None:
    provision_sold_to(account_id=account_with_sold_to("grace@example.com").pk)
    customer = Customer.objects.get(email="grace@example.com")

    page = staff_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    assert page.status_code == 200
    assert "Created the customer" in page.content.decode()
