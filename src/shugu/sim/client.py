"""The simulator's view of shugu: its public HTTP API, used as any client would use it."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from typing import Any

import pyarrow as pa

ARROW_STREAM = "application/vnd.apache.arrow.stream"


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status} {code or ''}: {body}")
        self.status = status
        self.code = code


class ShuguClient:
    def __init__(self, base_url: str, timeout_s: float = 60.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout_s
        self.token: str | None = None

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        as_user: bool = True,
    ) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", content_type)
        if self.token and as_user:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                text = answer.read()
        except urllib.error.HTTPError as err:
            payload = err.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode("utf-8", "replace")
            raise ApiError(err.code, parsed) from None
        return json.loads(text) if text else None

    def login(self, username: str, password: str) -> None:
        answer = self._call("POST", "/api/auth/login", {"username": username, "password": password})
        self.token = answer["token"]

    def signed_in_as(self, username: str, password: str) -> ShuguClient:
        """Another client of the same shugu, signed in as ``username``."""
        other = ShuguClient(self.base, self.timeout)
        other.login(username, password)
        return other

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self._call("PUT", path, body)

    def post_arrow(self, path: str, table: pa.Table) -> Any:
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return self._call("POST", path, raw=sink.getvalue(), content_type=ARROW_STREAM)

    def device_telemetry(self, token: str, payload: Any) -> Any:
        """The ThingsBoard HTTP device API, as a device posts (no user token). Called from many
        threads at once, so the user's token is left out per request, never unset meanwhile."""
        return self._call("POST", f"/api/v1/{token}/telemetry", payload, as_user=False)

    def device_attributes(self, token: str, attributes: Any) -> Any:
        """Client attributes a device reports about itself (``POST /api/v1/{token}/attributes``)."""
        return self._call("POST", f"/api/v1/{token}/attributes", attributes, as_user=False)
