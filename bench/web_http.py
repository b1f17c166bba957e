"""Signing in to the console and timing GETs over one keep-alive connection on loopback.

A page's time here is what a browser on the same host would wait for: from the request's first
byte to the answer's last, over a connection already open (as a browser's is after the first
page). The client is the standard library's ``http.client``; its own cost per request, a fraction
of a millisecond, is inside the time of ``/login`` that every figure is set beside.
"""

from __future__ import annotations

import http.client
import time
import urllib.parse
from dataclasses import dataclass

from shugu.api.session_cookies import SESSION_COOKIE


class SignInFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the cookie header it sends."""

    username: str
    cookie: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    elapsed_ms: float
    location: str | None
    content_type: str = ""


def sign_in(host: str, port: int, username: str, password: str) -> Session:
    """POST the sign-in form, as a browser does, and keep the session cookie it sets."""
    form = urllib.parse.urlencode({"username": username, "password": password})
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request(
            "POST",
            "/login",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = conn.getresponse()
        answer.read()
        cookies = answer.headers.get_all("set-cookie") or []
    finally:
        conn.close()
    for cookie in cookies:
        name, _, rest = cookie.partition("=")
        if name.strip() == SESSION_COOKIE:
            return Session(username, f"{SESSION_COOKIE}={rest.split(';', 1)[0]}")
    raise SignInFailed(f"signing in as {username} answered {answer.status} without a session")


class Browser:
    """One keep-alive connection that GETs as a signed-in user (or as nobody)."""

    def __init__(self, host: str, port: int, session: Session | None) -> None:
        self.host = host
        self.port = port
        self.headers = {"Accept": "text/html,application/json", "Accept-Language": "zh-CN"}
        if session is not None:
            self.headers["Cookie"] = session.cookie
        self._conn = http.client.HTTPConnection(host, port, timeout=120)

    def get(self, path: str) -> Answer:
        for attempt in (1, 2):
            try:
                t0 = time.perf_counter()
                self._conn.request("GET", path, headers=self.headers)
                answer = self._conn.getresponse()
                body = answer.read()
                elapsed = (time.perf_counter() - t0) * 1000
                return Answer(
                    answer.status,
                    body,
                    elapsed,
                    answer.getheader("location"),
                    answer.getheader("content-type", ""),
                )
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: open a new one and retry.
                self._conn.close()
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._conn.close()
