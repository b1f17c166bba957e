"""Ready-made ways for a new device to send its first values, filled in with this server's
host, ports and the device's access token: ``mosquitto_pub`` on ThingsBoard's telemetry topic,
``curl`` to the HTTP device API, and the ThingsBoard IoT Gateway's configuration for a gateway.

The sample values are the device profile's own metrics within their plausible ranges, so that a
strict profile stores them instead of refusing unknown names (docs/mqtt.md,
docs/http-device-api.md).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Final

from shugu.domain.profiles import MetricKind, MetricSpec, Profile

TELEMETRY_TOPIC: Final = "v1/devices/me/telemetry"
#: A profile without metrics (``generic``) takes any name.
GENERIC_SAMPLE: Final = {"temperature": 25.5, "humidity": 60}
SAMPLE_METRICS: Final = 3


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where devices reach this server, as the browser reached it."""

    host: str
    http_base: str
    mqtt_port: int | None
    mqtt_tls_port: int | None


@dataclass(frozen=True, slots=True)
class Snippets:
    mqtt: str | None
    curl: str
    gateway: str | None
    payload: str


def _sample_value(spec: MetricSpec) -> float | int:
    if spec.states:
        return max(spec.states)  # a running state, where there is one, has the highest code
    low = spec.min if spec.min is not None else 0.0
    high = spec.max if spec.max is not None else low + 100.0
    middle = (low + high) / 2
    return int(middle) if high - low >= 20 else round(middle, 1)


def sample_payload(profile: Profile) -> dict[str, float | int]:
    """A few of the profile's metrics with plausible values: its first state (running, say),
    then gauges, then counters, in the profile's order."""
    metrics = profile.metrics
    states = [name for name, spec in metrics.items() if spec.kind is MetricKind.STATE][:1]
    gauges = [name for name, spec in metrics.items() if spec.kind is MetricKind.GAUGE]
    counters = [name for name, spec in metrics.items() if spec.kind is MetricKind.COUNTER]
    picked = (states + gauges + counters)[:SAMPLE_METRICS]
    if not picked:
        return dict(GENERIC_SAMPLE)
    return {name: _sample_value(profile.metrics[name]) for name in picked}


def snippets(endpoint: Endpoint, token: str, profile: Profile, is_gateway: bool) -> Snippets:
    payload = json.dumps(sample_payload(profile), ensure_ascii=False)
    quoted_payload = shlex.quote(payload)
    mqtt = None
    if endpoint.mqtt_port is not None:
        mqtt = (
            f"mosquitto_pub -h {shlex.quote(endpoint.host)} -p {endpoint.mqtt_port} "
            f"-t {TELEMETRY_TOPIC} -u {shlex.quote(token)} -m {quoted_payload}"
        )
    elif endpoint.mqtt_tls_port is not None:
        mqtt = (
            f"mosquitto_pub -h {shlex.quote(endpoint.host)} -p {endpoint.mqtt_tls_port} "
            f"--capath /etc/ssl/certs -t {TELEMETRY_TOPIC} -u {shlex.quote(token)} "
            f"-m {quoted_payload}"
        )
    curl = (
        f"curl -X POST {shlex.quote(f'{endpoint.http_base}/api/v1/{token}/telemetry')} "
        f"-H 'Content-Type: application/json' -d {quoted_payload}"
    )
    gateway = None
    port = endpoint.mqtt_port if endpoint.mqtt_port is not None else endpoint.mqtt_tls_port
    if is_gateway and port is not None:
        gateway = gateway_config(endpoint.host, port, token)
    return Snippets(mqtt, curl, gateway, payload)


def gateway_config(host: str, port: int, token: str) -> str:
    """``tb_gateway.yaml`` of the ThingsBoard IoT Gateway: its ``thingsboard`` section points at
    this server with the gateway device's token; remote shell and remote configuration stay off
    (shugu does not offer them); connectors are the gateway's own to configure."""
    return "\n".join(
        [
            "thingsboard:",
            f"  host: {host}",
            f"  port: {port}",
            "  remoteShell: false",
            "  remoteConfiguration: false",
            "  security:",
            f"    accessToken: {token}",
            "storage:",
            "  type: memory",
            "  read_records_count: 100",
            "  max_records_count: 100000",
            "connectors:",
            "  - name: MQTT Broker Connector",
            "    type: mqtt",
            "    configuration: mqtt.json",
        ]
    )
