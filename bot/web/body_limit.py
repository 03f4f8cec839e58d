"""A cap on every request body, checked before any handler reads it (or a CSRF token in it).

A declared Content-Length over the cap is answered 413 at once; a body sent
without one (chunked) is counted as it streams and refused with a 413 (an
HTTPException, so the app's error page shows it) when it passes the cap.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.larger.get(scope.get("path", ""), self.default)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            status = 413 if declared.isdigit() else 400
            await PlainTextResponse("The request is too large." if status == 413 else "Bad request.",
                                    status_code=status)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise HTTPException(413, "The request is too large.")
            return message

        await self.app(scope, counted, send)

