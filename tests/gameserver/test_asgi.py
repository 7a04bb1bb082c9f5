"""The HTTP side of gameserver.asgi: the middleware chain and the view run in one synchronous call per request,
not with a hop between the event loop and the request's thread at every middleware boundary."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync

from gameserver.asgi import django_application


async def asgi_get(path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the handler cancels its disconnect listener when the response is out
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(dict(message))

    await django_application(scope, receive, send)
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return sent[0]["status"], dict(sent[0]["headers"]), body


@pytest.mark.django_db
def test_an_api_request_enters_the_synchronous_chain_once_and_keeps_its_middleware(monkeypatch):
    hops = {"sync_to_async": 0, "async_to_sync": 0}
    to_thread, to_loop = SyncToAsync.__call__, AsyncToSync.__call__

    async def counted_to_thread(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        hops["sync_to_async"] += 1
        return await to_thread(self, *args, **kwargs)

    def counted_to_loop(self: AsyncToSync, *args: Any, **kwargs: Any) -> Any:
        hops["async_to_sync"] += 1
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted_to_thread)
    monkeypatch.setattr(AsyncToSync, "__call__", counted_to_loop)
    status, headers, body = asyncio.run(asgi_get("/api/no-such-endpoint"))
    # The whole chain still ran: the API's JSON error, the Content-Security-Policy header on it.
    assert status == 404 and body == b'{"error": "not found"}'
    assert b"Content-Security-Policy" in headers
    # request_started's receivers, the chain with the view, the response's close: three entries into the
    # request's thread, and never back out to the event loop in between.
    assert hops == {"sync_to_async": 3, "async_to_sync": 0}
