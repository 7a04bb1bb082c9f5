"""The game socket: joins by game id, forwards events after commit, never carries a location."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore

from gameserver.asgi import application
from gameserver.games.guessing import guess_submit
from gameserver.games.services import game_create, round_serve
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.embedded]


def connect(game_id: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/games/{game_id}", headers=[(b"origin", b"http://127.0.0.1")])


@pytest.fixture
def game(synthetic_test: Path, model_version):
    report = panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    return game_create(panorama_set=PanoramaSet.objects.get(pk=report.set_id), owner_key="p1", rounds=1)


async def test_events_of_a_round_reach_the_socket_without_locations(game):
    socket = connect(game.public_id)
    connected, _ = await socket.connect()
    assert connected
    game_round = await sync_to_async(game.rounds.get)()
    served = await sync_to_async(round_serve)(round=game_round, player_key="p1")
    events = [await socket.receive_json_from(timeout=10) for _ in range(2)]
    assert {event["event"] for event in events} == {"round_started", "model_ready"}
    await sync_to_async(guess_submit)(round=served, player_key="p1", latitude=1.0, longitude=2.0)
    guessed = await socket.receive_json_from(timeout=10)
    name = await sync_to_async(lambda: game.players.get().name)()
    assert guessed == {"event": "player_guessed", "round": 1, "name": name, "guesses": 1, "players": 1}
    complete = await socket.receive_json_from(timeout=10)
    assert complete == {"event": "round_complete", "round": 1}  # every player of the room has guessed
    for event in [*events, guessed, complete]:
        assert not {"latitude", "longitude", "top_cells", "truth"} & set(event)
    await socket.disconnect()


async def test_unknown_game_is_refused():
    socket = connect("does-not-exist")
    connected, code = await socket.connect()
    assert not connected and code == 4404


@pytest.mark.parametrize("where", ["game id", "session cookie"])
async def test_a_handshake_holding_a_nul_is_refused_before_the_session_is_read(game, where):
    # A NUL reaching a query (the game, the session) fails it on PostgreSQL: refused as a bad request instead.
    if where == "game id":
        socket = connect("a%00b")
    else:  # a quoted cookie value may spell a NUL as the octal escape \000
        socket = WebsocketCommunicator(
            application,
            f"/ws/games/{game.public_id}",
            headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", b'sessionid="abcdefghij\\000klmnop"')],
        )
    connected, code = await socket.connect()
    assert not connected and code == 4400


# What a websocket server accepts from an application (RFC 6455 7.4; autobahn, under daphne, refuses the rest
# with "invalid close code", so the client got 1011 and each frame logged a traceback).
APPLICATION_CLOSE_CODES = {1000, *range(3000, 5000)}
# As the ASGI server hands them over (the communicator's send_to refuses empty frames).
CLIENT_FRAMES = {
    "json": {"text": '{"guess": [1, 2]}'},
    "text": {"text": "not json"},
    "empty text": {"text": ""},
    "binary": {"bytes": b"\x00\xff"},
    "empty binary": {"bytes": b""},
    "huge": {"text": "x" * 2_000_000},
    "huge binary": {"bytes": b"\xff" * 2_000_000},
    "neither": {},
    "both": {"text": "a", "bytes": b"b"},
}


@pytest.mark.parametrize("frame", CLIENT_FRAMES.values(), ids=CLIENT_FRAMES.keys())
async def test_a_client_frame_closes_the_socket_with_an_application_code_and_one_short_log_line(game, frame, caplog):
    """Actions go through the HTTP API. A frame from the client closes its socket without an answer or a decode:
    answering each one let a client that never reads stall the server (a probe's 4 sockets held an HTTP request
    up for 14 s), and a frame that was not JSON raised on every one. Further frames on the same connection,
    sent before the close lands, are neither answered nor logged again."""
    caplog.set_level("INFO", logger="gameserver.realtime")
    socket = connect(game.public_id)
    assert (await socket.connect())[0]
    for _ in range(3):
        await socket.send_input({"type": "websocket.receive", **frame})
    closed = await socket.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] in APPLICATION_CLOSE_CODES
    assert closed["code"] == 4008 and closed.get("reason")
    assert await socket.receive_nothing(timeout=0.2)  # the later frames got no second close
    # The server answers a close with a disconnect (as Daphne and uvicorn do); the consumer then ends cleanly: an
    # exception would be raised here. Without the disconnect, wait() sat out its whole timeout on every frame.
    await socket.send_input({"type": "websocket.disconnect", "code": closed["code"]})
    await socket.wait(timeout=5)
    records = [record for record in caplog.records if record.name.startswith("gameserver.realtime")]
    assert len(records) == 1
    line = records[0].getMessage()
    assert "\n" not in line and len(line) < 200 and records[0].exc_info is None
    assert "xxxx" not in line  # the frame itself is never echoed into the log


async def test_a_player_joining_the_room_is_announced(game):
    from gameserver.games.services import game_join

    socket = connect(game.public_id)
    await socket.connect()
    await sync_to_async(game_join)(game=game, player_key="guest:abcdef", name="Bob")
    assert await socket.receive_json_from(timeout=10) == {
        "event": "player_joined",
        "round": 0,
        "name": "Bob",
        "players": 2,
    }
    await socket.disconnect()


async def test_the_handshake_reads_the_game_and_not_the_session(game, monkeypatch):
    # The socket only sends, by game id: a session cookie is not looked up (one query and one thread hop saved
    # per connect, which the load benchmark's ramp pays a thousand times).
    loads: list[str] = []

    def load(self: SessionStore) -> dict[str, Any]:
        loads.append(str(self.session_key))
        return {}

    monkeypatch.setattr(SessionStore, "load", load)
    socket = WebsocketCommunicator(
        application,
        f"/ws/games/{game.public_id}",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", b"sessionid=abcdefghijklmnopqrstuvwxyz012345")],
    )
    connected, _ = await socket.connect()
    assert connected and loads == []
    await socket.disconnect()
