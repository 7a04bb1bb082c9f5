"""Redis crashes and restarts empty during a game (no persistence: the worst case). The test's own Redis, web
server (daphne) and worker; the shared Redis is never touched. While Redis is down, guesses are still locked and
revealed and a round still starts (its model guess marked unavailable): events are lost, requests do not fail.
Once Redis is back, sockets reconnect, the worker reconnects, and the next round plays with its events.

The sockets are GameConsumer under WebsocketCommunicator on the same Redis, so the events they get come from the
web server's and the worker's processes."""

from __future__ import annotations

import os

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from redis.exceptions import ConnectionError as RedisConnectionError

from gameserver.asgi import application
from gameserver.games.models import Round
from gameserver.panoramas.services import panorama_set_import

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL and Redis; make test runs it in its DATABASE_URL/REDIS_URL pass",
    ),
    pytest.mark.asyncio,
]
ROUND_EVENTS = {"round_started", "model_ready", "player_guessed", "round_complete"}


async def socket_open(game_id: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, f"/ws/games/{game_id}", headers=[(b"origin", b"http://127.0.0.1")])
    connected, _ = await socket.connect()
    assert connected
    return socket


async def event_names(socket: WebsocketCommunicator, count: int) -> set[str]:
    return {(await socket.receive_json_from(timeout=30))["event"] for _ in range(count)}


async def test_the_game_goes_on_through_a_redis_restart(
    synthetic_test, spawn, private_redis, http_player, eventually, settings
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": private_redis.url, "socket_timeout": None}]},
        }
    }
    await sync_to_async(panorama_set_import)(manifest_path=synthetic_test, name="synthetic")
    on_private_redis = {"REDIS_URL": private_redis.url, "CELERY_BROKER_URL": private_redis.url}
    worker = spawn.worker("worker", env=on_private_redis)
    web, base = spawn.web("web", env=on_private_redis)
    player = http_player(base)
    _, game = player.call("POST", "/api/games", {"set": "synthetic", "rounds": 4})

    @sync_to_async
    def start(number: int) -> tuple[str, Round]:
        status, view = player.call("POST", f"/api/games/{game['game']}/rounds/{number}/start", {})
        assert status == 200, f"round {number} did not start"
        answered = eventually(
            lambda: (
                Round.objects.exclude(model_status=Round.ModelStatus.PENDING).filter(public_id=view["round"]).first()
            ),
            what=f"round {number}'s model guess",
            log=worker.log,
        )
        return f"/api/rounds/{view['round']}/guess", answered

    @sync_to_async
    def guess(url: str) -> dict[str, object]:
        status, reveal = player.call("POST", url, {"latitude": 35.0, "longitude": 139.0})
        assert status == 201, reveal
        return reveal

    socket = await socket_open(game["game"])
    await guess((await start(1))[0])
    assert await event_names(socket, 4) == ROUND_EVENTS
    assert player.call("GET", "/api/stats/benchmark")[0] == 200  # cached in Redis

    url, answered = await start(2)
    assert answered.model_status == Round.ModelStatus.READY
    private_redis.crash()
    # Locked and revealed (the rate limiter lets it through uncounted); only its events are lost.
    assert (await guess(url))["counted"] is True
    assert "Error calling game_event_send_on_commit" in web.log_text()  # logged, not raised
    url, unanswered = await start(3)  # no broker to reach a worker: the round plays without the model
    assert unanswered.model_status == Round.ModelStatus.UNAVAILABLE
    assert "task queue cannot be reached" in unanswered.model_error
    assert (await guess(url))["counted"] is False
    assert player.call("GET", "/api/stats/benchmark")[0] == 200  # computed without its cache
    with pytest.raises(RedisConnectionError):  # the socket's consumer loses its layer: the server closes it
        await socket.receive_from(timeout=10)

    private_redis.start()
    socket = await socket_open(game["game"])  # the page reconnects
    url, answered = await start(4)
    assert answered.model_status == Round.ModelStatus.READY  # the worker is back on the broker
    assert (await guess(url))["counted"] is True
    assert await event_names(socket, 4) == ROUND_EVENTS
    await socket.disconnect()
    status, benchmark = player.call("GET", "/api/stats/benchmark")
    assert status == 200 and benchmark["player_rounds"] == 4 and benchmark["excluded"] == {"model_not_committed": 1}
