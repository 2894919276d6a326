"""The optional allow-list of networks callouts may come from (REMOTE_ADDR only)."""

import ipaddress

import pytest
from django.test import Client

from billing.models import CalloutReceipt
from tests.callouts.conftest import ACCOUNT_URL, AUTHORIZED, post_form, recorded
from tests.factories import zuora_id


@pytest.fixture
def allow_list(settings) -> None:
    settings.ZUORA_CALLOUT_ALLOWED_NETWORKS = (
        ipaddress.ip_network("203.0.113.0/24"),
        ipaddress.ip_network("2001:db8::/32"),
    )


def send(client: Client, remote_addr: str, **headers: str):
    return post_form(
        client,
        ACCOUNT_URL,
        {"AccountId": zuora_id()},
        REMOTE_ADDR=remote_addr,
        headers=AUTHORIZED | headers,
    )


@pytest.mark.usefixtures("allow_list")
@pytest.mark.parametrize(
    ("remote_addr", "stored"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8::5", "2001:db8::5"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_callout_from_an_allowed_network_is_recorded_with_its_address(
    zuora: Client, remote_addr: str, stored: str
) -> None:
    response = send(zuora, remote_addr)

    assert response.status_code == 200
    assert CalloutReceipt.objects.get().source_address == stored


@pytest.mark.usefixtures("allow_list")
@pytest.mark.parametrize("remote_addr", ["198.51.100.7", "2001:db9::1", "", "unix:/tmp/socket"])
def test_callout_from_elsewhere_is_refused_with_403(zuora: Client, remote_addr: str) -> None:
    response = send(zuora, remote_addr)

    assert response.status_code == 403
    assert "ZUORA_CALLOUT_ALLOWED_NETWORKS" in response.json()["error"]
    assert recorded() == (0, 0)


@pytest.mark.usefixtures("allow_list")
def test_forwarded_for_header_does_not_get_a_callout_past_the_allow_list(zuora: Client) -> None:
    response = send(zuora, "198.51.100.7", **{"X-Forwarded-For": "203.0.113.9"})

    assert response.status_code == 403


@pytest.mark.usefixtures("allow_list")
def test_network_is_checked_before_credentials(zuora: Client) -> None:
    response = post_form(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


def test_empty_allow_list_accepts_any_address(zuora: Client) -> None:
    response = send(zuora, "198.51.100.7")

    assert response.status_code == 200


def test_address_with_an_ipv6_zone_is_stored_without_it(zuora: Client) -> None:
    response = send(zuora, "fe80::1%eth0")

    assert response.status_code == 200
    assert CalloutReceipt.objects.get().source_address == "fe80::1"


def test_callout_without_a_usable_peer_address_is_recorded_without_one(zuora: Client) -> None:
    response = send(zuora, "unix:/tmp/socket")

    assert response.status_code == 200
    assert CalloutReceipt.objects.get().source_address is None
