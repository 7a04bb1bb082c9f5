"""A socket's handshake judged before anything reads the database: a path or cookie holding text no database
column can hold (gameserver/games/unstorable_text.py) is closed with 4400, as the HTTP side answers 400. Without
this, a NUL in the session cookie failed the session lookup on PostgreSQL inside the auth middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.http import parse_cookie

from gameserver.games.unstorable_text import text_unstorable

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Application = Callable[[Scope, Receive, Send], Awaitable[None]]
BAD_REQUEST = 4400


class UnstorableTextGuard:
    def __init__(self, inner: Application) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cookies = [
            parse_cookie(value.decode("latin1"))
            for name, value in scope.get("headers", ())
            if name.lower() == b"cookie"
        ]
        if scope["type"] == "websocket" and (text_unstorable(scope.get("path", "")) or text_unstorable(cookies)):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": BAD_REQUEST})
            return
        await self.inner(scope, receive, send)
