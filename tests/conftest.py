"""Project-wide test set-up: tests never leave the machine."""

import ipaddress
import socket
from typing import Any

import pytest

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # Unix sockets (e.g. PostgreSQL's) stay on the machine.
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_remote(address: object) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may only connect to this machine, not {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _refuse_remote(address)
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _refuse_remote(address)
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


def database_url_for_subprocesses(*, host: str | None = None, port: int | None = None) -> str:
    """The URL of the database the tests use, for processes a test starts; on
    PostgreSQL `host` and `port` reach it another way (through a proxy, say)."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = host or settings["HOST"] or "127.0.0.1"
    port = port or settings["PORT"] or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def on_postgresql(db: None) -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _no_settle_delay(settings: Any) -> None:
    """Syncs are due at once in tests, unless a test is about the settle delay."""
    settings.SYNC_SETTLE_SECONDS = 0
    settings.SYNC_SETTLE_PAIR_SECONDS = 0
    settings.SYNC_SETTLE_BURST_SECONDS = 0


@pytest.fixture(autouse=True)
def _emails_at_commit(settings: Any) -> None:
    """Invitations are sent at commit in tests (mail.outbox), unless a test is about the task."""
    settings.CUSTOMER_EMAILS_IN_BACKGROUND = False
