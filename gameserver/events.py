"""Game events pushed to browsers (the websocket consumers in gameserver/realtime deliver them). Sent only after the
transaction that caused them commits, and never carrying a location: a socket frame says *that* something happened;
the reveal comes from the API. A project-level module below every app, so games and inference can announce without
importing the websocket app."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_TYPES = ("player_joined", "round_started", "model_ready", "player_guessed", "round_complete", "rematch")


def game_group(game_public_id: str) -> str:
    return f"game.{game_public_id}"


def game_event_send_on_commit(*, game_public_id: str, event: str, round_number: int, **fields: object) -> None:
    if event not in EVENT_TYPES:
        raise ValueError(f"unknown event {event!r}")
    message = {"type": "game.event", "event": event, "round": round_number, **fields}

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(game_group(game_public_id), message)

    # Robust: a layer that cannot be reached (Redis restarting) is logged, not raised. The change is committed
    # and the API serves it, so the request must not fail over a hint.
    transaction.on_commit(send, robust=True)
