"""A size limit on every request body, checked before and while it is read.

Without it, any route that parses a body (sign-in included, before authentication) would read
whatever a client sends. Declared lengths over the limit are refused at once; bodies without a
declared length are counted as they stream and refused when they pass it.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shugu.api.errors import error_body
from shugu.api.jsonresponse import JSONBytes


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, exempt_prefix: str = "/api/v1/") -> None:
        self.app = app
        self.limit = limit
        #: The device API enforces the same limit itself, and counts refusals per device.
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.limit:
                    message = f"the request body may be at most {self.limit} bytes"
                    response = JSONBytes(error_body("payload_too_large", message), status_code=413)
                    await response(scope, receive, send)
                    return
                break
        seen = 0
        limit = self.limit
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Stop feeding the app; it sees a client that went away.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a cut-off body is replaced below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except ClientDisconnect:
            if not exceeded:
                raise
        if exceeded and not started:
            message = f"the request body exceeds {limit} bytes"
            response = JSONBytes(error_body("payload_too_large", message), status_code=413)
            await response(scope, receive, send)
