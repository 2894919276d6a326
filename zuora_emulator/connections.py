"""Lets the emulator reset a client's TCP connection, as a flaky network would.

ASGI hides the socket, so the uvicorn protocol below remembers each connection's
transport by the client's address; :func:`reset_connection` then aborts it with
``SO_LINGER`` 0, which makes the kernel send RST instead of a clean FIN.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

_transports: dict[tuple[str, int], asyncio.Transport] = {}


class ResettableH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a registry of live transports by peer address."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        if peer:
            _transports[(peer[0], peer[1])] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self.transport.get_extra_info("peername") if self.transport else None
        if peer:
            _transports.pop((peer[0], peer[1]), None)
        super().connection_lost(exc)


def reset_connection(scope: dict[str, Any]) -> bool:
    """Abort the request's connection with a TCP reset; False if it cannot be found."""
    client = scope.get("client")
    transport = _transports.get((client[0], client[1])) if client else None
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True
