"""Swagger UI and ReDoc render the API's title in a real browser with the internet cut off.

Headless Chromium (Debian's ``chromium``) against `shugu serve` on loopback: every host name
but 127.0.0.1 fails to resolve and every other connection goes to a proxy that is not there,
so a page that needed a CDN would stay blank.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from websockets.sync.client import connect

from tests.binaries import require_binary
from tests.server import ServedDistrict, serve_district

_OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--enable-logging=stderr",
    "--v=0",
]
_CSP_REFUSAL = re.compile(r"violates the following Content Security Policy directive: \"(\S+)")
#: ReDoc's sidebar shows the Redocly logo from Redocly's CDN: refused, the text stays.
_COSMETIC = {"img-src"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    with serve_district(tmp_path_factory.mktemp("docs"), {}) as served:
        yield served


class Browser:
    """Headless Chromium driven over the DevTools protocol (only what these tests need)."""

    def __init__(self, chromium: str, profile: Path) -> None:
        self.log_path = profile.parent / "chromium.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [chromium, *_OFFLINE, "--remote-debugging-port=0", f"--user-data-dir={profile}"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or len(port_file.read_text().split()) < 2:
            assert self.process.poll() is None, self.log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None)
        self.ids = itertools.count(1)

    def call(self, method: str, session: str | None = None, **params: object) -> dict[str, Any]:
        ident = next(self.ids)
        message: dict[str, object] = {"id": ident, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:  # events arrive in between; only the answer is wanted
            answer = json.loads(self.socket.recv(timeout=60))
            if answer.get("id") == ident:
                assert "error" not in answer, answer
                return cast(dict[str, Any], answer["result"])

    def open(self, url: str) -> str:
        target = self.call("Target.createTarget", url=url)["targetId"]
        return str(self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"])

    def dom(self, session: str) -> str:
        # While the page is still being replaced, there may be no document to read yet.
        script = "document.documentElement ? document.documentElement.outerHTML : ''"
        result = self.call("Runtime.evaluate", session, expression=script)
        return str(result["result"].get("value", ""))

    def close(self) -> str:
        """Stop the browser and return what it logged (console messages among them)."""
        self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        return self.log_path.read_text(errors="replace")


def rendered(chromium: str, url: str, done: re.Pattern[str], profile: Path) -> tuple[str, str]:
    """The page's DOM once ``done`` matches it (or after a minute), and the browser's log."""
    browser = Browser(chromium, profile)
    try:
        session = browser.open(url)
        deadline = time.monotonic() + 60
        dom = browser.dom(session)
        while not done.search(dom) and time.monotonic() < deadline:
            time.sleep(0.25)
            dom = browser.dom(session)
    finally:
        log = browser.close()
    return dom, log


@pytest.mark.parametrize(
    ("page", "title"),
    [
        ("/docs", re.compile(r'<h1 class="title">shugu 数谷')),
        ("/redoc", re.compile(r"<h1[^>]*>shugu 数谷 <span>\(")),
    ],
)
def test_docs_page_renders_offline(
    server: ServedDistrict, tmp_path: Path, page: str, title: re.Pattern[str]
) -> None:
    chromium = require_binary("chromium", debian="chromium")
    dom, log = rendered(chromium, server.base + page, title, tmp_path / "profile")
    assert title.search(dom), dom[-3000:]
    assert "/api/auth/login" in dom  # the operations were read from /openapi.json and drawn
    refused = set(_CSP_REFUSAL.findall(log)) - _COSMETIC
    assert not refused, log[-3000:]
    assert "Failed to load resource" not in log, log[-3000:]
