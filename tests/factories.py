"""Small factories for the models; every id and number is unique per call."""

import secrets

import factory

from billing.models import (
    AccountStatus,
    BillingAccount,
    BillingAccountContact,
    BillingAccountMembership,
    MembershipProvenance,
)
from customers.models import Customer


def zuora_id() -> str:
    return secrets.token_hex(16)


class BillingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccount

    zuora_id = factory.LazyFunction(zuora_id)
    account_number = factory.Sequence(lambda n: f"A{n:08d}")
    name = factory.Sequence(lambda n: f"Account {n}")
    status = AccountStatus.ACTIVE
    currency = "USD"


class BillingAccountContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccountContact

    zuora_id = factory.LazyFunction(zuora_id)
    billing_account = factory.SubFactory(BillingAccountFactory)
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Lovelace{n}")
    work_email = factory.Sequence(lambda n: f"ada{n}@example.com")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Grace"
    last_name = "Hopper"
    password = factory.django.Password("correct horse battery staple")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccountMembership

    customer = factory.SubFactory(CustomerFactory)
    billing_account = factory.SubFactory(BillingAccountFactory)
    provenance = MembershipProvenance.MANUAL
