"""The embedded game's channel layer delivers an event sent from another thread (the in-process worker's model
guess) at once. Channels' InMemoryChannelLayer puts it on an asyncio queue of the server's loop from the worker's
own loop, which does not wake the server's loop: the event waited for whatever woke it next (about a second in
`make play`, forever in an idle loop)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings

from gameserver.events import game_group
from gameserver.realtime.layers import EmbeddedChannelLayer

pytestmark = pytest.mark.embedded

EVENT = {"type": "game.event", "event": "model_ready", "round": 1}


def test_the_embedded_game_uses_the_embedded_layer() -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] in (
        "channels_redis.core.RedisChannelLayer",
        "gameserver.realtime.layers.EmbeddedChannelLayer",
    )


def test_a_message_sent_from_another_thread_wakes_the_server_loop() -> None:
    layer = EmbeddedChannelLayer()
    group = game_group("abc")
    listening = threading.Event()
    received: list[dict[str, object]] = []
    loop = asyncio.new_event_loop()

    async def consumer() -> None:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        listening.set()
        received.append(await layer.receive(channel))  # no timeout: nothing else would wake this loop

    task = loop.create_task(consumer())
    server = threading.Thread(target=loop.run_until_complete, args=(task,), daemon=True)
    server.start()
    assert listening.wait(10)
    async_to_sync(layer.group_send)(group, EVENT)  # from this thread, as the worker sends
    server.join(timeout=5)
    delivered = list(received)
    if server.is_alive():  # the wake-up below would deliver it too: judge before it
        loop.call_soon_threadsafe(task.cancel)
        server.join(timeout=5)
    assert delivered == [EVENT]


def test_a_message_sent_on_the_server_loop_is_delivered_as_before() -> None:
    layer = EmbeddedChannelLayer()

    async def both() -> dict[str, object]:
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", EVENT)
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    assert asyncio.run(both()) == EVENT
