"""The HTTP server closes connections that send their request head too slowly or too large,
and caps the connections one client address may hold (not counting device long polls);
ordinary clients do not notice any of it.

Against a real ``shugu serve`` with a short header timeout (1 s) or a small cap (3). The
assertions wait for "closed" with a generous deadline; none of them measures speed.
"""

from __future__ import annotations

import itertools
import json
import select
import socket
import time
from collections.abc import Iterator

import pytest

from shugu.api.http_server import address_key
from tests.server import ServedDistrict, serve_district

#: Far beyond the configured 1 s, for a shared, busy machine.
DEADLINE_S = 30.0
REQUEST = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    with serve_district(
        tmp_path_factory.mktemp("http-impatient"),
        {"box-1": ("generic", False)},
        ["--http-header-timeout", "1"],
    ) as served:
        yield served


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    with serve_district(
        tmp_path_factory.mktemp("http-capped"),
        {"box-1": ("generic", False)},
        ["--http-header-timeout", "120", "--http-max-connections-per-address", "3"],
    ) as served:
        yield served


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)


def _receive(sock: socket.socket) -> bytes | None:
    """What the server sent, or None once it closed the connection."""
    try:
        chunk = sock.recv(4096)
    except ConnectionResetError:
        return None
    return chunk or None


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while (chunk := _receive(sock)) is not None:
        received += chunk
    return received


def _send_until_closed(sock: socket.socket, chunks: Iterator[bytes], pause_s: float) -> bytes:
    """Send the next of ``chunks`` whenever the server has said nothing for ``pause_s``, until
    it closes the connection; returns what it sent. Fails if still open at the deadline."""
    received = b""
    deadline = time.monotonic() + DEADLINE_S
    sent = 0
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], pause_s)
        if readable:
            chunk = _receive(sock)
            if chunk is None:
                return received
            received += chunk
            continue
        try:
            sock.sendall(next(chunks))
        except (BrokenPipeError, ConnectionResetError):
            return received + _read_until_closed(sock)
        sent += 1
    raise AssertionError(f"still open after {DEADLINE_S:g} s ({sent} sends)")


def _trickle_until_closed(sock: socket.socket, drip: bytes) -> bytes:
    """Send ``drip`` one byte every 0.2 s, over and over, until the server closes."""
    return _send_until_closed(sock, (bytes([b]) for b in itertools.cycle(drip)), 0.2)


def _flood_until_closed(sock: socket.socket, start: bytes, filler: bytes) -> bytes:
    """Send ``start``, then ``filler`` again and again, until the server closes."""
    sock.sendall(start)
    return _send_until_closed(sock, itertools.repeat(filler), 0.05)


def _read_answer(sock: socket.socket) -> bytes:
    """One whole answer to REQUEST (a small JSON body with Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _ask(port: int) -> bytes:
    with _connect(port) as sock:
        sock.sendall(REQUEST)
        return _read_answer(sock)


def test_a_slow_request_head_is_closed_with_408(impatient: ServedDistrict) -> None:
    slow = [_connect(impatient.http_port) for _ in range(5)]
    try:
        for sock in slow:
            sock.sendall(b"GET /api/health HTTP/1.1\r\n")
        for sock in slow:
            answer = _trickle_until_closed(sock, b"X-Slow: a\r\n")
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"request_header_timeout" in answer
    finally:
        for sock in slow:
            sock.close()


def test_a_connection_that_sends_nothing_is_closed(impatient: ServedDistrict) -> None:
    with _connect(impatient.http_port) as sock:
        readable, _, _ = select.select([sock], [], [], DEADLINE_S)
        assert readable, "still open"
        # Nothing was asked, so nothing is answered: the connection just ends.
        assert sock.recv(4096) == b""


def test_keep_alive_cannot_be_held_by_trickling_line_ends(impatient: ServedDistrict) -> None:
    # Blank lines between requests are allowed and do not begin a request: they must not keep
    # an idle connection open either.
    with _connect(impatient.http_port) as sock:
        sock.sendall(REQUEST)
        assert _read_answer(sock).startswith(b"HTTP/1.1 200")
        _trickle_until_closed(sock, b"\r\n")


def test_ordinary_clients_are_unaffected(impatient: ServedDistrict) -> None:
    slow = _connect(impatient.http_port)
    try:
        slow.sendall(b"GET /api/health HTTP/1.1\r\n")
        # Requests on one keep-alive connection, together taking longer than the header
        # timeout: each head arrives whole, so none is cut off.
        with _connect(impatient.http_port) as sock:
            for _ in range(4):
                sock.sendall(REQUEST)
                assert _read_answer(sock).startswith(b"HTTP/1.1 200")
                time.sleep(0.5)
        assert _ask(impatient.http_port).startswith(b"HTTP/1.1 200")
    finally:
        slow.close()


def test_connections_per_address_are_capped(capped: ServedDistrict) -> None:
    port = capped.http_port
    assert _ask(port).startswith(b"HTTP/1.1 200")
    held = [_connect(port) for _ in range(3)]
    try:
        # The first three are served as usual.
        held[0].sendall(REQUEST)
        assert _read_answer(held[0]).startswith(b"HTTP/1.1 200")
        # The fourth is answered 503 at once, before it sends anything, and closed.
        with _connect(port) as extra:
            answer = _read_until_closed(extra)
            assert answer.startswith(b"HTTP/1.1 503"), answer
            assert b"retry-after: " in answer.lower()
            assert b"too_many_connections" in answer
        # A connection that ends frees its place.
        held.pop().close()
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                answer = _ask(port)
            except (ConnectionResetError, BrokenPipeError):
                answer = b""
            if answer.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("not an address", "not an address"),
    ],
)
def test_an_ipv6_host_is_counted_by_its_64(address: str, key: str) -> None:
    # One IPv6 host usually holds a whole /64: counted per address, it could open the cap
    # again from every one of them.
    assert address_key(address) == key


def test_an_oversized_request_head_is_refused_with_431(capped: ServedDistrict) -> None:
    # Without a bound, the parser kept a growing header whole in memory (70 MiB in 8 s); the
    # header timeout (120 s here) is far too late for that.
    with _connect(capped.http_port) as sock:
        answer = _flood_until_closed(sock, b"GET /api/health HTTP/1.1\r\nX-Big: ", b"a" * 16384)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"request_header_too_large" in answer
    assert _ask(capped.http_port).startswith(b"HTTP/1.1 200")


def test_large_heads_within_the_limit_and_large_bodies_are_served(capped: ServedDistrict) -> None:
    with _connect(capped.http_port) as sock:
        cookie = b"Cookie: " + b"c" * 40_000 + b"\r\n"
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n" + cookie + b"\r\n")
        assert _read_answer(sock).startswith(b"HTTP/1.1 200")
    # A body is not part of the head, even when it comes in the same read as the head.
    body = json.dumps({f"k{i}": "x" * 100 for i in range(3000)}).encode()
    assert len(body) > 4 * 64 * 1024
    with _connect(capped.http_port) as sock:
        sock.sendall(
            f"POST /api/v1/{capped.token('box-1')}/telemetry HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        answer = _read_answer(sock)
    # Every value is refused (unknown metrics, text), but the request was read and answered.
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"all_values_rejected" in answer


def _served_connection(port: int) -> socket.socket:
    """A connection that was admitted and answered, retried while the address is at its cap."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        sock = _connect(port)
        try:
            sock.sendall(REQUEST)
            answer = _read_answer(sock)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""
        if answer.startswith(b"HTTP/1.1 200"):
            return sock
        sock.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"no place for a connection: {answer[:200]!r}")
        time.sleep(0.1)


def test_device_long_polls_do_not_count_against_the_cap(capped: ServedDistrict) -> None:
    # A factory's devices behind one NAT address each hold two long polls for minutes: with
    # them counted, the cap (3 here) would leave room for one more connection, not three.
    token = capped.token("box-1")
    polls = [_connect(capped.http_port) for _ in range(2)]
    held: list[socket.socket] = []
    try:
        for sock, path in zip(polls, ["rpc", "attributes/updates"], strict=True):
            sock.sendall(
                f"GET /api/v1/{token}/{path}?timeout=60000 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            )
        for _ in range(3):
            sock = _served_connection(capped.http_port)
            # Half a head keeps it open (the head timeout is 120 s here), where an idle
            # keep-alive connection would be closed after 5 s and give its place back.
            sock.sendall(REQUEST[:20])
            held.append(sock)
        # All three are open at once, beside the polls: each completes its request.
        for sock in held:
            sock.sendall(REQUEST[20:])
            assert _read_answer(sock).startswith(b"HTTP/1.1 200")
        # The polls are still waiting (nothing was answered on them).
        for sock in polls:
            assert select.select([sock], [], [], 0)[0] == []
    finally:
        for sock in held + polls:
            sock.close()
