"""MQTT over TLS with a certificate made for the test."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.binaries import require_binary
from tests.server import free_port, serve_district


def _certificate(directory: Path) -> tuple[Path, Path]:
    openssl = require_binary("openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_telemetry_over_tls(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    tls_port = free_port()
    district = serve_district(
        tmp_path,
        {"loom-tls": ("loom", False)},
        ["--mqtt-tls-port", str(tls_port), "--tls-cert", str(cert), "--tls-key", str(key)],
    )
    try:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id="tls-client")
        client.username_pw_set(district.token("loom-tls"))
        client.tls_set(ca_certs=str(cert))
        connected = threading.Event()
        client.on_connect = lambda *a: connected.set()
        client.connect("127.0.0.1", tls_port)
        client.loop_start()
        try:
            assert connected.wait(10)
            info = client.publish("v1/devices/me/telemetry", '{"speed_rpm": 640}', qos=1)
            info.wait_for_publish(10)
            assert info.is_published()
        finally:
            client.loop_stop()
            client.disconnect()
        assert district.latest("loom-tls")["speed_rpm"] == 640
    finally:
        district.stop()
