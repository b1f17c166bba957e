"""The MQTT endpoint admits at most --mqtt-max-connections-per-address open connections from one
client address, plain and TLS ports together; one more is closed before anything is read, and a
freed place admits a new connection.

Against a real ``shugu serve`` with the cap at 3 and both ports open. The waits are patience for
a busy machine, not measurements.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from shugu.ingest.mqtt.connection import MqttApplication
from shugu.ingest.mqtt.server import MqttEndpoint
from tests.ingest.mqtt.test_tls import _certificate
from tests.server import ServedDistrict, free_port, serve_district

PATIENCE_S = 30.0
DEVICES = {f"box-{n}": ("generic", False) for n in range(1, 6)}


class CappedServer:
    def __init__(self, district: ServedDistrict, tls_port: int, cert: Path) -> None:
        self.district = district
        self.tls_port = tls_port
        self.tls = ssl.create_default_context(cafile=str(cert))


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CappedServer]:
    data = tmp_path_factory.mktemp("mqtt-capped")
    cert, key = _certificate(data)
    tls_port = free_port()
    options = ["--mqtt-max-connections-per-address", "3", "--mqtt-tls-port", str(tls_port)]
    options += ["--tls-cert", str(cert), "--tls-key", str(key)]
    with serve_district(data, DEVICES, options) as district:
        yield CappedServer(district, tls_port, cert)


def _connect_packet(token: str, client_id: str) -> bytes:
    def string(raw: bytes) -> bytes:
        return len(raw).to_bytes(2, "big") + raw

    # MQTT 3.1.1, clean session, user name, keep-alive 60 s.
    body = string(b"MQTT") + bytes([4, 0x82]) + (60).to_bytes(2, "big")
    body += string(client_id.encode()) + string(token.encode())
    return bytes([0x10, len(body)]) + body


def _dial(server: CappedServer, tls: bool) -> socket.socket:
    if tls:
        raw = socket.create_connection(("127.0.0.1", server.tls_port), timeout=PATIENCE_S)
        return server.tls.wrap_socket(raw, server_hostname="localhost")
    port = server.district.mqtt_port
    return socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_S)


def _session(server: CappedServer, device: str, tls: bool) -> socket.socket | None:
    """A connection that sent CONNECT and got a CONNACK accepting it; None when the server
    closed it instead."""
    try:
        sock = _dial(server, tls)
    except (ssl.SSLError, ConnectionError):
        return None  # closed during the TLS handshake
    try:
        sock.sendall(_connect_packet(server.district.token(device), f"cap-{device}"))
        answer = sock.recv(4)
    except (ssl.SSLError, ConnectionError):
        answer = b""
    if answer == b"\x20\x02\x00\x00":
        return sock
    assert answer == b"", f"unexpected answer {answer!r}"
    sock.close()
    return None


def _refused_count(server: CappedServer) -> int:
    _, health = server.district.http("GET", "/api/health")
    count = health["mqtt_refused_over_address_limit"]
    assert isinstance(count, int)
    return count


def test_a_fourth_connection_from_one_address_is_closed_until_one_is_freed(
    capped: CappedServer,
) -> None:
    held = [_session(capped, "box-1", tls=False), _session(capped, "box-2", tls=True)]
    held.append(_session(capped, "box-3", tls=False))
    assert all(sock is not None for sock in held), "three connections are within the cap"

    # The fourth, on either port, is closed without an answer and counted.
    assert _session(capped, "box-4", tls=False) is None
    assert _session(capped, "box-4", tls=True) is None
    assert _refused_count(capped) == 2

    # Freeing one place admits a new connection (once the server has seen the close).
    first = held.pop(0)
    assert first is not None
    first.close()
    deadline = time.monotonic() + PATIENCE_S
    admitted = None
    while admitted is None and time.monotonic() < deadline:
        admitted = _session(capped, "box-5", tls=False)
        if admitted is None:
            time.sleep(0.1)
    assert admitted is not None, "a freed place admits a new connection"
    held.append(admitted)
    for sock in held:
        if sock is not None:
            sock.close()


def test_ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() -> None:
    endpoint = MqttEndpoint(cast(MqttApplication, None), max_packet_bytes=1024)
    endpoint.max_connections_per_address = 2
    assert endpoint.admit(("2001:db8:1:2::a", 1883, 0, 0)) == "2001:db8:1:2::/64"
    assert endpoint.admit(("2001:db8:1:2:ffff::b", 1883, 0, 0)) == "2001:db8:1:2::/64"
    assert endpoint.admit(("2001:db8:1:2::c", 1883, 0, 0)) is None  # the same /64: over
    assert endpoint.admit(("2001:db8:1:3::c", 1883, 0, 0)) == "2001:db8:1:3::/64"
    assert endpoint.admit(("::ffff:192.0.2.7", 1883, 0, 0)) == "192.0.2.7"
    assert endpoint.admit(("192.0.2.7", 1883)) == "192.0.2.7"
    assert endpoint.admit(("192.0.2.7", 1883)) is None
    endpoint.release_address("192.0.2.7")
    assert endpoint.admit(("192.0.2.7", 1883)) == "192.0.2.7"
    assert endpoint.refused_over_cap == 2
