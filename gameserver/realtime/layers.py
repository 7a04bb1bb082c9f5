"""The embedded game's channel layer: Channels' in-memory layer, safe to send to from another thread.

The in-process worker commits a model guess in its own thread and sends `model_ready` from there, on its own
event loop. The in-memory layer's queues belong to the server's loop; putting a message on one from another loop
sets the waiting consumer's future without waking the server's loop, so the browser heard of the guess only when
something else woke it (about a second later). Here a send from another loop is handed to the loop that receives.
"""

from __future__ import annotations

import asyncio

from channels.layers import InMemoryChannelLayer


class EmbeddedChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._receiving_loop: asyncio.AbstractEventLoop | None = None

    async def receive(self, channel: str) -> dict[str, object]:
        self._receiving_loop = asyncio.get_running_loop()
        message: dict[str, object] = await super().receive(channel)
        return message

    async def send(self, channel: str, message: dict[str, object]) -> None:
        loop = self._receiving_loop
        if loop is not None and loop is not asyncio.get_running_loop() and loop.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(super().send(channel, message), loop))
            return
        await super().send(channel, message)
