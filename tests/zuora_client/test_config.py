"""Configuration: environments by name or URL, and refusal of nonsense."""

import pytest

from zuora import ZuoraConfig
from zuora.config import resolve_base_url


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("US_PRODUCTION", "https://rest.zuora.com"),
        ("PROD", "https://rest.zuora.com"),
        ("prod_na", "https://rest.na.zuora.com"),
        ("US_SANDBOX", "https://rest.apisandbox.zuora.com"),
        ("SBX_NA", "https://rest.sandbox.na.zuora.com"),
        ("CSBX", "https://rest.test.zuora.com"),
        ("EU_PRODUCTION", "https://rest.eu.zuora.com"),
        ("eu-sandbox", "https://rest.sandbox.eu.zuora.com"),
        ("CSBX_EU", "https://rest.test.eu.zuora.com"),
        ("APAC_PRODUCTION", "https://rest.ap.zuora.com"),
        ("CSBX_AP", "https://rest.test.ap.zuora.com"),
    ],
)
def test_environment_names_resolve_to_hosts(name, url):
    assert resolve_base_url(name) == url


def test_any_url_is_accepted_without_trailing_slash():
    assert resolve_base_url("http://127.0.0.1:8765/") == "http://127.0.0.1:8765"


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(ValueError, match="US_PRODUCTION"):
        resolve_base_url("MARS")


def test_config_resolves_its_base_url():
    config = ZuoraConfig(base_url="EU_PRODUCTION", client_id="id", client_secret="secret")

    assert config.base_url == "https://rest.eu.zuora.com"


def test_secret_is_not_in_repr():
    config = ZuoraConfig(base_url="PROD", client_id="id", client_secret="s3cr3t-value")

    assert "s3cr3t-value" not in repr(config)


def test_defaults_stay_below_zuoras_concurrency_limit():
    config = ZuoraConfig(base_url="PROD", client_id="id", client_secret="secret")

    assert config.max_concurrency == 10
    assert config.zuora_version == "2025-08-12"


@pytest.mark.parametrize(
    "override",
    [
        {"client_secret": ""},
        {"max_concurrency": 0},
        {"max_attempts": 0},
        {"read_timeout": 0},
        {"retry_deadline": -1},
    ],
)
def test_nonsense_is_refused(override):
    with pytest.raises(ValueError, match=r"ZuoraConfig|client_secret"):
        ZuoraConfig(**{"base_url": "PROD", "client_id": "id", "client_secret": "x", **override})
