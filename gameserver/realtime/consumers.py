"""A websocket per game: authenticate by game id, join its group, forward events. No logic here."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from gameserver.games.models import Game
from gameserver.realtime.events import game_group


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

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: object) -> None:
        # The socket is one-way; actions go through the JSON API (CSRF, validation, one code path). A frame from
        # the client closes its socket, unread: answering each let a client that never reads stall the server.
        await self.close(code=1008)

    async def game_event(self, message: dict[str, object]) -> None:
        await self.send_json({key: value for key, value in message.items() if key != "type"})
