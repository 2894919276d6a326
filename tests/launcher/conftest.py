"""The launcher's stack on the test database, for tests of what it starts."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from launcher.stack import Stack, StackConfig, pick_ports
from tests.conftest import database_url_for_subprocesses


@contextmanager
def running_stack(var_dir: Path, **options: Any) -> Iterator[Stack]:
    """Started without the emulator, the sweeper and the reconciler (unless
    `options` say otherwise), and stopped on the way out."""
    config = pick_ports(
        StackConfig(
            var_dir=var_dir,
            database_url=database_url_for_subprocesses(),
            **{
                "emulator": False,
                "sweeper": False,
                "reconciler": False,
                "static_files": False,
                **options,
            },
        )
    )
    stack = Stack(config)
    try:
        stack.start(backfill=False)
        yield stack
    finally:
        stack.stop()
