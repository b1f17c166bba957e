"""A lean HTTP/1.1 keep-alive load generator for POSTing prebuilt payloads.

General-purpose clients spend more CPU per request than the server under test on this 2-core
machine; this one sends bytes prepared in advance and parses only the status line and the
Content-Length of each answer, so the measurement is of the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class LoadResult:
    requests: int = 0
    ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0


def build_request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: localhost", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
            break
    if length:
        await reader.readexactly(length)
    return status


async def _client(
    host: str,
    port: int,
    requests: Sequence[bytes],
    start: int,
    stride: int,
    deadline: float,
    result: LoadResult,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    try:
        while time.perf_counter() < deadline and i < len(requests):
            t0 = time.perf_counter()
            writer.write(requests[i])
            status = await _read_response(reader)
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
            result.requests += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.ok += 1
            i += stride
    finally:
        writer.close()


async def run_load(
    host: str, port: int, requests: Sequence[bytes], clients: int, seconds: float
) -> LoadResult:
    """Send ``requests`` (each used once, round-robin over clients) for at most ``seconds``."""
    result = LoadResult()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    await asyncio.gather(
        *(_client(host, port, requests, c, clients, deadline, result) for c in range(clients))
    )
    result.elapsed_s = time.perf_counter() - t0
    return result
