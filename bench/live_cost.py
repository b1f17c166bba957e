"""What keeping 1,000 open pages live costs the server: server-sent events against polling.

One `shugu serve` over an enterprise of ``devices`` devices that each send a value every second.
Three phases of ``seconds`` each, measured by the server's own CPU time (``/proc/<pid>/stat``)
and resident memory:

- **baseline**: the devices send, no page is open (the cost of ingest alone);
- **events**: ``pages`` pages hold ``GET /live?devices=…`` streams watching every device, and
  read each value as the server pushes it (about 0.2 s after it is stored);
- **polling**: ``pages`` pages fetch the same devices' latest values every ``poll_every_s`` over
  kept-alive connections, the least a polling page would fetch (a page's HTML fragment costs
  more), for a freshness of ``poll_every_s`` against the events' 0.2 s.

Figures: server cores (CPU seconds per second) above the baseline and resident memory, per
phase; the client's own CPU share beside them, since it runs on the same machine.
"""

from __future__ import annotations

import asyncio
import os
import resource
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.faults.served import Served, make_district

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Phase:
    name: str
    server_cores: float
    server_rss_mib: float
    client_cores: float
    pages_served: int
    #: Bytes the pages received during the phase.
    received_bytes: int
    #: Device sends the server did not answer within 10 s during the phase (saturated).
    device_send_failures: int = 0
    #: Polling answers per second the pages got (wanted: pages / poll interval).
    answers_per_s: float = 0.0
    #: Seconds until every page's stream had opened (its first bytes came).
    open_s: float = 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _client_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Feeder(threading.Thread):
    """Every device sends one value a second over the HTTP device API (kept-alive)."""

    def __init__(self, base: str, tokens: list[str]) -> None:
        super().__init__(daemon=True, name="feeder")
        self.base = base
        self.tokens = tokens
        self.stop = threading.Event()
        #: Sends the server did not answer in time: it was saturated (by polling pages, say).
        self.failed = 0

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            for token in self.tokens:
                body = f'{{"value": {n % 100}}}'.encode()
                request = urllib.request.Request(
                    f"{self.base}/api/v1/{token}/telemetry", data=body, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        answer.read()
                except OSError:
                    self.failed += 1
            n += 1
            self.stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))


async def _stream_page(
    port: int, path: str, cookie: str, stop: asyncio.Event, got: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nCookie: shugu_session={cookie}\r\n\r\n".encode()
    )
    await writer.drain()
    counted = False
    try:
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            except TimeoutError:
                continue
            if not chunk:
                break
            if not counted:
                counted = True
                got[1] += 1  # connected: its first bytes came
            got[0] += len(chunk)
    finally:
        writer.close()


async def _poll_page(
    port: int, path: str, token: str, every_s: float, stop: asyncio.Event, got: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    try:
        while not stop.is_set():
            started = loop.time()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length)
            got[0] += len(head) + len(body)
            got[1] += 1
            await asyncio.sleep(max(0.0, every_s - (loop.time() - started)))
    finally:
        writer.close()


async def _phase(served: Served, seconds: float, settle_s: float) -> tuple[float, float, float]:
    await asyncio.sleep(settle_s)  # pages connected and settled
    pid = served.pid
    cpu0, client0, t0 = _cpu_s(pid), _client_cpu_s(), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    return (
        (_cpu_s(pid) - cpu0) / elapsed,
        _rss_mib(pid),
        (_client_cpu_s() - client0) / elapsed,
    )


async def _measure(
    served: Served,
    pages: int,
    seconds: float,
    poll_every_s: float,
    device_ids: list[int],
    settle_s: float,
    feeder: Feeder,
) -> list[Phase]:
    district = served.district
    port = served.http_port
    out: list[Phase] = []

    failed = feeder.failed
    base_cpu, base_rss, base_client = await _phase(served, seconds, settle_s)
    out.append(Phase("baseline", base_cpu, base_rss, base_client, 0, 0, feeder.failed - failed))

    stop = asyncio.Event()
    got = [0, 0]
    path = "/live?devices=" + ",".join(map(str, device_ids))
    tasks = [
        asyncio.create_task(_stream_page(port, path, district.admin_token, stop, got))
        for _ in range(pages)
    ]
    loop = asyncio.get_running_loop()
    opened = loop.time()
    while got[1] < pages and loop.time() - opened < 120:
        await asyncio.sleep(0.1)
    open_s = loop.time() - opened
    await asyncio.sleep(settle_s)
    failed, received = feeder.failed, got[0]
    cpu, rss, client = await _phase(served, seconds, 0.0)
    out.append(
        Phase(
            "events",
            cpu - base_cpu,
            rss,
            client,
            got[1],
            got[0] - received,
            feeder.failed - failed,
            open_s=open_s,
        )
    )
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    stop = asyncio.Event()
    got = [0, 0]
    path = f"/api/enterprises/{district.enterprise}/latest"
    tasks = [
        asyncio.create_task(_poll_page(port, path, district.admin_token, poll_every_s, stop, got))
        for _ in range(pages)
    ]
    await asyncio.sleep(settle_s)
    failed, answered, received = feeder.failed, got[1], got[0]
    cpu, rss, client = await _phase(served, seconds, 0.0)
    rate = (got[1] - answered) / seconds
    out.append(
        Phase(
            "polling",
            cpu - base_cpu,
            rss,
            client,
            pages,
            got[0] - received,
            feeder.failed - failed,
            rate,
        )
    )
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return out


def run(
    workdir: Path,
    *,
    pages: int = 1000,
    devices: int = 50,
    seconds: float = 20.0,
    poll_every_s: float = 1.0,
    settle_s: float = 2.0,
) -> list[Phase]:
    district = make_district(workdir / "data", devices)
    served = Served(
        district,
        mqtt=False,
        # Each polling page keeps one connection, all from this address. One process: the
        # figures are its CPU time and memory (/proc/<pid>), which fronts would not show.
        extra_args=["--http-max-connections-per-address", "0", "--workers", "1"],
        log_path=workdir / "serve.log",
    )
    served.start()
    feeder = Feeder(served.base, [d.token for d in district.devices])
    try:
        feeder.start()
        return asyncio.run(
            _measure(
                served,
                pages,
                seconds,
                poll_every_s,
                [d.id for d in district.devices],
                settle_s,
                feeder,
            )
        )
    finally:
        feeder.stop.set()
        feeder.join(timeout=10)
        served.stop()


def report(phases: list[Phase]) -> str:
    lines = [
        "| phase | server cores above baseline | server RSS MiB | client cores | received MiB "
        "| device sends unanswered in 10 s | polling answers/s | streams open in s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in phases:
        lines.append(
            f"| {p.name} | {p.server_cores:.3f} | {p.server_rss_mib:.0f} | "
            f"{p.client_cores:.3f} | {p.received_bytes / 2**20:.1f} | "
            f"{p.device_send_failures} | {p.answers_per_s:.0f} | {p.open_s:.1f} |"
        )
    return "\n".join(lines)


def run_bench(
    *, quick: bool = False, pages: int = 1000, runs: int = 3, log: bool = True
) -> dict[str, object]:
    """Medians over ``runs`` runs, as figures whose names state their units."""
    import statistics
    import tempfile

    if quick:
        pages, runs = min(pages, 100), 1
    seconds = 5.0 if quick else 20.0
    results: list[list[Phase]] = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="shugu-live-cost-") as work:
            phases = run(Path(work), pages=pages, seconds=seconds)
        results.append(phases)
        if log:
            print(f"run {i + 1}/{runs}\n{report(phases)}", flush=True)
    out: dict[str, object] = {"pages": pages, "runs": runs, "phase_seconds": seconds}
    for index, name in enumerate(("baseline", "events", "polling")):
        out[f"{name}_server_cores"] = round(
            statistics.median(r[index].server_cores for r in results), 3
        )
        out[f"{name}_server_rss_mib"] = round(
            statistics.median(r[index].server_rss_mib for r in results)
        )
        out[f"{name}_unanswered_device_sends"] = sum(r[index].device_send_failures for r in results)
    out["events_streams_open_s"] = round(statistics.median(r[1].open_s for r in results), 1)
    out["polling_answers_per_s"] = round(statistics.median(r[2].answers_per_s for r in results))
    out["polling_answers_wanted_per_s"] = round(pages / 1.0)
    events = out["events_server_cores"]
    polling = out["polling_server_cores"]
    assert isinstance(events, float) and isinstance(polling, float)
    out["polling_to_events_cost_ratio"] = round(polling / max(events, 1e-3), 1)
    return out
