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

from shugu.demo import ACCOUNTS
from tests.server import free_port, holding_port


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


def _accounts_ready(base: str, usernames: set[str]) -> bool:
    """Whether the demo has made these accounts yet, asked as its operator (made before the
    server listens): signing in to an account not made yet would count as a failed attempt,
    and enough of them on a slow machine lock the account out before it exists."""
    operator = _login(base, "operator", "demo-operator")
    users = _get(f"{base}/api/users", operator)
    assert isinstance(users, list)
    return usernames <= {u["username"] for u in users}


def _start_demo(data: Path, http_port: int, mqtt_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shugu.cli",
            "demo",
            "--data",
            str(data),
            "--http-port",
            str(http_port),
            "--mqtt-port",
            str(mqtt_port),
            "--scale",
            "0.04",
            "--backfill-days",
            "0.25",
            # As `make demo` on a 2-core machine (the default is the cores available), never
            # left to a test machine's many cores.
            "--workers",
            "2",
        ],
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _stop_demo(process: subprocess.Popen[bytes]) -> str:
    """Ctrl-C; the demo says it stops and is gone well within the hang guard."""
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    output = process.stdout.read().decode() if process.stdout else ""
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "stopping…" in output and output.rstrip().endswith("stopped."), output[-3000:]
    return output


def _latest_loom(base: str, token: str, enterprise: int) -> dict[str, float]:
    """Latest picks and energy of the mill's first loom, and when they were sent."""
    latest = _get(f"{base}/api/enterprises/{enterprise}/latest", token)
    assert isinstance(latest, dict)
    cols = latest["columns"]
    first = min(d for d, m in zip(cols["device"], cols["metric"], strict=True) if m == "picks")
    out = {}
    for device, metric, ts, value in zip(
        cols["device"], cols["metric"], cols["ts"], cols["value"], strict=True
    ):
        if device == first and metric in ("picks", "energy_kwh"):
            out[metric], out["ts"] = value, ts
    return out


def test_demo_shows_a_living_district(tmp_path: Path) -> None:
    http_port, mqtt_port = free_port(), free_port()
    process = _start_demo(tmp_path / "demo", http_port, mqtt_port)
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.time() + 120
        mill_values: list[object] = []
        dc_values: list[object] = []
        while time.time() < deadline and not (mill_values and dc_values):
            time.sleep(2)
            try:
                if not _accounts_ready(base, {"mill-admin", "dc-admin"}):
                    continue
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
        # The demo's passwords are published: its accounts go to their pages at sign-in, not
        # to the page that asks an account made by another to replace its password.
        users = _get(f"{base}/api/users", _login(base, "operator", "demo-operator"))
        assert isinstance(users, list)
        published = {username for username, *_ in ACCOUNTS}
        asked = [u["username"] for u in users if u["must_change_password"]]
        assert published <= {u["username"] for u in users} and not published & set(asked)
        assert dc_values, "the data hall reports over HTTP"
        # Live means now: the live clock catches up after the backfill instead of staying a
        # minute and more behind (one report period and some slack, not a timing benchmark).
        time.sleep(6)
        before = _latest_loom(base, token, me["enterprise_id"])
        assert before["ts"] > time.time() * 1000 - 20_000, before
        # Live, each rack has told which CRAHs cool it: what groups a trip's alarms.
        devices = _get(f"{base}/api/enterprises/{dc['enterprise_id']}/devices", dc_token)
        assert isinstance(devices, list)
        rack = next(d["id"] for d in devices if d["name"] == "机柜 R001")
        attributes = _get(f"{base}/api/devices/{rack}/attributes", dc_token)
        assert isinstance(attributes, dict)
        assert attributes["client"]["cooled_by"] == ["精密空调 01"], attributes
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
        # The operator made the mill's first administrator only; the mill's viewer is its
        # administrator's, who also let the bureau read the mill's machines.
        users = _get(f"{base}/api/users", token)
        assert isinstance(users, list)
        made = {u["username"]: u["made_by_operator"] for u in users}
        assert made == {"mill-admin": True, "mill-viewer": False}, made
        assert _login(base, "mill-viewer", "demo-mill-viewer")
        bureau = _login(base, "bureau", "demo-bureau")
        assert _get(f"{base}/api/enterprises/{me['enterprise_id']}/latest", bureau)
    finally:
        output = _stop_demo(process)
    # No fault is announced as starting now: the first is due five minutes into live time.
    assert "starts on" not in output, output[-3000:]

    # A restarted demo's machines go on counting from where they stood: wait for a point sent
    # after the first run stopped, so the second run's simulator has resumed its counters.
    stopped_ms = time.time() * 1000
    process = _start_demo(tmp_path / "demo", http_port, mqtt_port)
    try:
        after: dict[str, float] = {}
        deadline = time.time() + 150
        while time.time() < deadline and after.get("ts", 0) <= stopped_ms:
            time.sleep(2)
            try:
                token = _login(base, "mill-admin", "demo-mill-admin")
                after = _latest_loom(base, token, me["enterprise_id"])
            except (urllib.error.URLError, OSError, KeyError, ValueError):
                continue
        assert after.get("ts", 0) > stopped_ms, "live data after the restart"
        assert after["picks"] >= before["picks"] > 0, (before, after)
        assert after["energy_kwh"] >= before["energy_kwh"] > 0, (before, after)
    finally:
        output = _stop_demo(process)
    assert "counters of" in output and "resume" in output, output[-3000:]


def test_demo_refuses_a_taken_port_in_one_line(tmp_path: Path) -> None:
    for taken, variable in (("--mqtt-port", "DEMO_MQTT_PORT"), ("--http-port", "DEMO_PORT")):
        ports = {"--http-port": free_port(), "--mqtt-port": free_port()}
        with holding_port(ports[taken]):
            done = subprocess.run(
                [sys.executable, "-m", "shugu.cli", "demo", "--data", str(tmp_path / "d")]
                + [str(x) for pair in ports.items() for x in pair],
                capture_output=True,
                timeout=60,
            )
        stderr = done.stderr.decode()
        assert done.returncode == 2, stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert f"port {ports[taken]}" in stderr and taken in stderr and variable in stderr
        assert not (tmp_path / "d").exists(), "nothing is opened before the ports are checked"
