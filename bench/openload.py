"""An open-model HTTP load generator: requests leave on a fixed schedule, answered or not.

wrk and hey are closed-loop (a connection sends its next request only after the
previous answer), so a slow server lowers the offered load and hides its own
queueing; wrk2, which fixes that, is not packaged here. This sends each request
at its scheduled time over a bounded pool of keep-alive connections, and
measures latency from the scheduled time, so time spent waiting for a free
connection counts too (no coordinated omission).
"""

import asyncio
import base64
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class OpenLoadResult:
    scheduled: int = 0
    ok: int = 0  # HTTP 200
    failed: int = 0  # another status, a broken connection, or a timeout
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # of the 200s
    statuses: dict[int, int] = field(default_factory=dict)
    connections_opened: int = 0
    # How late the generator itself sent requests (its own limit, not the server's).
    send_lag_p99_ms: float = 0.0


def callout_request(
    *, host: str, path: str, username: str, password: str, account_id: str, request_id: str
) -> bytes:
    """One authenticated account callout, as Zuora sends it with a JSON body."""
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    body = json.dumps({"EventType": "AccountUpdated", "AccountId": account_id}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Authorization: Basic {credentials}\r\n"
        "Content-Type: application/json\r\n"
        f"Zuora-Request-Id: {request_id}\r\n"
        f"Zuora-Notification-Id: {request_id}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


def run(
    host: str,
    port: int,
    schedule: Sequence[tuple[float, bytes]],
    *,
    max_connections: int = 256,
    timeout: float = 30.0,
) -> OpenLoadResult:
    """Send each request at its offset (seconds from the start); wait for every answer."""
    return asyncio.run(_run(host, port, schedule, max_connections, timeout))


async def _run(
    host: str,
    port: int,
    schedule: Sequence[tuple[float, bytes]],
    max_connections: int,
    timeout: float,
) -> OpenLoadResult:
    result = OpenLoadResult(scheduled=len(schedule))
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots = asyncio.Semaphore(max_connections)
    loop = asyncio.get_running_loop()
    lags: list[float] = []

    async def send(due: float, data: bytes) -> None:
        async with slots:
            connection = None
            try:
                if idle:
                    connection = idle.pop()
                else:
                    connection = await asyncio.open_connection(host, port)
                    result.connections_opened += 1
                reader, writer = connection
                writer.write(data)
                status = await asyncio.wait_for(_read_response(reader), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                result.failed += 1
                if connection is not None:
                    connection[1].close()
                return
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.ok += 1
                result.latencies_ms.append((loop.time() - due) * 1000)
            else:
                result.failed += 1
            idle.append(connection)

    started_wall = time.monotonic()
    start = loop.time() + 0.05
    tasks = []
    for offset, data in schedule:
        due = start + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append((loop.time() - due) * 1000)
        tasks.append(asyncio.create_task(send(due, data)))
    await asyncio.gather(*tasks)
    result.seconds = time.monotonic() - started_wall
    for _reader, writer in idle:
        writer.close()
    lags.sort()
    result.send_lag_p99_ms = lags[int(0.99 * (len(lags) - 1))] if lags else 0.0
    return result


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status
