"""`shugu demo` end to end: it starts, the district appears, data flows, Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.server import free_port


def _get(url: str, token: str | None = None) -> object:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _login(base: str, username: str, password: str) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"{base}/api/auth/login", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        token: str = json.loads(answer.read())["token"]
    return token


def test_demo_shows_a_living_district(tmp_path: Path) -> None:
    http_port, mqtt_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shugu.cli",
            "demo",
            "--data",
            str(tmp_path / "demo"),
            "--http-port",
            str(http_port),
            "--mqtt-port",
            str(mqtt_port),
            "--scale",
            "0.04",
            "--backfill-days",
            "0.25",
        ],
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.time() + 120
        mill_values: list[object] = []
        dc_values: list[object] = []
        while time.time() < deadline and not (mill_values and dc_values):
            time.sleep(2)
            try:
                token = _login(base, "mill-admin", "demo-mill-admin")
                me = _get(f"{base}/api/auth/me", token)
                assert isinstance(me, dict)
                latest = _get(f"{base}/api/enterprises/{me['enterprise_id']}/latest", token)
                assert isinstance(latest, dict)
                mill_values = latest["columns"]["value"]
                dc_token = _login(base, "dc-admin", "demo-dc-admin")
                dc = _get(f"{base}/api/auth/me", dc_token)
                assert isinstance(dc, dict)
                dc_latest = _get(f"{base}/api/enterprises/{dc['enterprise_id']}/latest", dc_token)
                assert isinstance(dc_latest, dict)
                dc_values = dc_latest["columns"]["value"]
            except (urllib.error.URLError, OSError, KeyError):
                continue
        assert mill_values, "looms report over MQTT through their gateway"
        assert dc_values, "the data hall reports over HTTP"
        # History arrived through the bulk path: more than a few minutes of one loom's picks.
        ranges = _get(
            f"{base}/api/enterprises/{me['enterprise_id']}/telemetry?bucket=1h&agg=count&metrics=picks",
            token,
        )
        assert isinstance(ranges, dict) and ranges["rows"] >= 3
        # The data centre's six daily rounds exist; one run now on the live hall passes.
        plans = _get(f"{base}/api/enterprises/{dc['enterprise_id']}/inspection-plans", dc_token)
        assert isinstance(plans, list) and plans[0]["plan"]["name"] == "机房日常巡检"
        assert len(plans[0]["plan"]["times"]) == 6
        run = urllib.request.Request(
            f"{base}/api/inspection-plans/{plans[0]['id']}/run", data=b"", method="POST"
        )
        run.add_header("Authorization", f"Bearer {dc_token}")
        with urllib.request.urlopen(run, timeout=30) as answer:
            round_ = json.loads(answer.read())
        assert round_["passed"] > 0 and round_["failed"] == 0, round_
        alarms = _get(f"{base}/api/alarms?enterprise={dc['enterprise_id']}", dc_token)
        assert isinstance(alarms, list)
        assert not [a for a in alarms if a["rule_ref"].startswith("rack_sensor.inlet")], alarms
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        output = process.stdout.read().decode() if process.stdout else ""
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
