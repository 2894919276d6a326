"""The launcher configures the emulator's callouts as docs/zuora_callouts.md tells an admin to."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from launcher.callouts import ACCOUNT_EVENTS, CONTACT_EVENTS
from launcher.stack import Stack, StackConfig
from zuora_emulator.testing import running_emulator


# By default the credentials go with the first request (Zuora's own default
# is a 401 challenge before every callout, which the guide says to turn off).
@pytest.mark.parametrize(
    ("options", "preemptive"), [({}, True), ({"callout_preemptive": False}, False)]
)
def test_the_stack_routes_every_event_with_its_credentials(
    tmp_path: Path, options: dict[str, bool], preemptive: bool
) -> None:
    with running_emulator(seed=3, accounts=0) as zuora:
        zuora.clear_notification_definitions()
        config = StackConfig(
            var_dir=tmp_path,
            emulator_port=urlsplit(zuora.base_url).port or 80,
            web_port=8123,
            callout_password="route-secret-1",
            **options,
        )
        Stack(config).route_callouts()
        definitions = list(zuora.emulator.callouts.definitions.values())

    assert sorted(d.event_type for d in definitions) == sorted(ACCOUNT_EVENTS + CONTACT_EVENTS)
    for definition in definitions:
        assert definition.url.startswith("http://127.0.0.1:8123/api/v1/zuora/callouts/")
        assert definition.auth == {
            "username": "zuora",
            "password": "route-secret-1",
            "preemptive": preemptive,
        }
