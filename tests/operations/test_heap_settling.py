"""The long-running commands set start-up's objects aside from garbage collection."""

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command

from config.heap import THRESHOLDS
from launcher.processes import ROOT
from tests.operations.conftest import ZuoraFactory


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """What the command changes in this process, put back afterwards."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.parametrize(
    ("less_often", "thresholds"), [(False, (2000, 10, 10)), (True, THRESHOLDS)]
)
def test_settling_freezes_what_exists(less_often: bool, thresholds: tuple[int, ...]) -> None:
    # In a process of its own: a freeze lasts for the rest of the process's life.
    code = (
        "import gc; from config.heap import settle_start_up_objects;"
        "before = len(gc.get_objects());"
        f"settle_start_up_objects(collect_less_often={less_often});"
        "print(gc.get_freeze_count() >= before // 2, *gc.get_threshold())"
    )
    shown = subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == ["True", *map(str, thresholds)]


@pytest.mark.django_db
@pytest.mark.usefixtures("restored_collector")
def test_a_pass_settles_the_heap_before_it_starts(seeded_zuora: ZuoraFactory) -> None:
    seeded_zuora(accounts=3)
    assert gc.get_freeze_count() == 0

    call_command("zuora_sync", "--full", stdout=StringIO())

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == THRESHOLDS


@pytest.mark.parametrize("entry_point", ["config.wsgi", "config.asgi"])
def test_a_web_process_settles_its_heap_with_its_views_imported(entry_point: str) -> None:
    # In a process of its own, as a web server imports the entry point.
    code = (
        f"import gc, sys; import {entry_point};"
        "print(gc.get_freeze_count() > 0, 'billing.callouts.views' in sys.modules)"
    )
    shown = subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DEBUG": "1"},
    ).stdout.split()
    assert shown == ["True", "True"]
