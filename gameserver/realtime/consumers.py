"""A websocket per game: authenticate by game id, join its group, forward events. No logic here."""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from gameserver.events import game_group
from gameserver.games.models import Game

logger = logging.getLogger(__name__)

# RFC 6455 reserves 1000-2999 for the protocol; an application may send 1000 or 3000-4999 only (daphne's
# autobahn turned 1008 into a 1011 and a traceback per frame). 4008 is "policy violation" in the private range.
CLIENT_FRAME_CLOSE_CODE = 4008
CLIENT_FRAME_CLOSE_REASON = "this socket only sends; act through the HTTP API"


class GameConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.game_id = str(self.scope["url_route"]["kwargs"]["game_id"])
        if not await database_sync_to_async(Game.objects.filter(public_id=self.game_id).exists)():
            await self.close(code=4404)
            return
        await self.channel_layer.group_add(game_group(self.game_id), self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "game_id"):
            await self.channel_layer.group_discard(game_group(self.game_id), self.channel_name)

    async def websocket_receive(self, message: dict[str, object]) -> None:
        # Channels' own dispatch reads message["bytes"] when there is no text: a frame with neither raised.
        await self.receive(text_data=message.get("text"), bytes_data=message.get("bytes"))  # type: ignore[arg-type]

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: object) -> None:
        # The socket is one-way; actions go through the JSON API (CSRF, validation, one code path). A frame from
        # the client closes its socket, unread: answering each let a client that never reads stall the server.
        # Frames already in flight behind the first are dropped, so one connection logs one line however it floods.
        if getattr(self, "client_frame_seen", False):
            return
        self.client_frame_seen = True
        kind, size = ("text", len(text_data)) if text_data is not None else ("binary", len(bytes_data or b""))
        logger.info("game socket %s closed: the client sent a %s frame of %d", self.game_id, kind, size)
        await self.close(code=CLIENT_FRAME_CLOSE_CODE, reason=CLIENT_FRAME_CLOSE_REASON)

    async def game_event(self, message: dict[str, object]) -> None:
        await self.send_json({key: value for key, value in message.items() if key != "type"})
