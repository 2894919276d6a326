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


def printed_by(code: str, **environment: str) -> list[str]:
    """The words a fresh interpreter prints running `code` (a freeze lasts for
    the rest of a process's life, so it is looked at in a process of its own)."""
    return subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **environment},
    ).stdout.split()


@pytest.mark.parametrize(
    ("less_often", "thresholds"), [(False, (2000, 10, 10)), (True, THRESHOLDS)]
)
def test_settling_freezes_what_exists(less_often: bool, thresholds: tuple[int, ...]) -> None:
    code = (
        "import gc; from config.heap import settle_start_up_objects;"
        "before = len(gc.get_objects());"
        f"settle_start_up_objects(collect_less_often={less_often});"
        "print(gc.get_freeze_count() >= before // 2, *gc.get_threshold())"
    )
    assert printed_by(code) == ["True", *map(str, thresholds)]


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
    code = (
        f"import gc, sys; import {entry_point};"
        "print(gc.get_freeze_count() > 0, 'billing.callouts.views' in sys.modules)"
    )
    assert printed_by(code, DEBUG="1") == ["True", "True"]
