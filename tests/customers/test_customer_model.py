"""Customers sign in with their email address, unique whatever its letter case."""

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Customer, CustomerOrigin
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_email_differing_only_in_letter_case_is_rejected_by_the_database() -> None:
    Customer.objects.create(email="Ann.Smith@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(email="ann.smith@EXAMPLE.COM")


def test_email_differing_only_in_letter_case_is_rejected_by_validation() -> None:
    CustomerFactory(email="ann@example.com")
    with pytest.raises(ValidationError):
        Customer.objects.create_user("ANN@example.com", "a long password 123")


def test_exact_duplicate_email_is_rejected() -> None:
    Customer.objects.create(email="bob@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(email="bob@example.com")


def test_sign_in_matches_the_email_whatever_its_letter_case() -> None:
    customer = Customer.objects.create_user("Cleo@Example.com", "a long password 123")
    assert authenticate(username="cleo@example.COM", password="a long password 123") == customer
    assert authenticate(username="cleo@example.com", password="wrong") is None


def test_new_customer_is_unverified_and_came_from_sign_up() -> None:
    customer = Customer.objects.create_user("dee@example.com")
    assert customer.email_verified_at is None
    assert not customer.email_verified
    assert customer.origin == CustomerOrigin.SIGN_UP
    assert not customer.has_usable_password()


def test_superuser_is_created_by_an_admin() -> None:
    admin = Customer.objects.create_superuser("root@example.com", "a long password 123")
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.origin == CustomerOrigin.ADMIN


def test_an_unusable_password_is_djangos_marker_and_differs_between_customers() -> None:
    first, second = Customer(email="a@example.com"), Customer(email="b@example.com")
    first.set_unusable_password()
    second.set_unusable_password()

    assert not first.has_usable_password()
    assert first.password.startswith("!")
    assert len(first.password) == 41
    assert first.password != second.password
    assert not first.check_password("")
    assert not first.check_password(first.password)
