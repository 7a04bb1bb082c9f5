"""Play again as a room: the first seat to ask creates the next game with the same settings, the room hears
of it, and every other seat that asks sits in that same game; nobody else can."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from gameserver import events
from gameserver.games.models import Game
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(synthetic_test: Path, model_version) -> tuple[Client, Client, str]:
    panorama_set_import(manifest_path=synthetic_test, name="s")
    host, guest = Client(), Client()
    host.get("/api/session"), guest.get("/api/session")
    game = post(host, "/api/games", {"set": "s", "rounds": 2, "time_limit_s": 60, "mode": "nmpz", "name": "Host"})[1]
    assert post(guest, f"/api/games/{game['game']}/join", {"name": "Guest"})[0] == 200
    return host, guest, game["game"]


def post(client: Client, url: str, body: object) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_the_room_plays_again_together(room, monkeypatch):
    host, guest, old = room
    sent: list[tuple[str, dict[str, object]]] = []

    class Layer:  # records what the room's sockets would be sent
        async def group_send(self, group: str, message: dict[str, object]) -> None:
            sent.append((group, message))

    monkeypatch.setattr(events, "get_channel_layer", Layer)
    status, again = post(host, f"/api/games/{old}/rematch", {"name": "Host"})
    assert status == 200 and again["game"] != old
    assert (again["round_count"], again["time_limit_s"], again["mode"]) == (2, 60, "nmpz")
    assert [p["name"] for p in again["players"]] == ["Host"] and again["joinable"]
    assert [(m["event"], m["game"]) for group, m in sent if group == events.game_group(old)] == [
        ("rematch", again["game"])
    ]

    status, same = post(guest, f"/api/games/{old}/rematch", {"name": "Guest"})
    assert status == 200 and same["game"] == again["game"]
    assert [p["name"] for p in same["players"]] == ["Host", "Guest"]
    assert post(host, f"/api/games/{old}/rematch", {})[1]["game"] == again["game"]  # asking twice: one game
    assert host.get(f"/api/games/{old}").json()["rematch"] == again["game"]
    assert Game.objects.count() == 2


def test_only_a_seat_of_the_room_can_ask(room):
    _, _, old = room
    stranger = Client()
    stranger.get("/api/session")
    status, body = post(stranger, f"/api/games/{old}/rematch", {})
    assert status == 403 and Game.objects.count() == 1


def test_a_seat_late_for_the_rematch_is_offered_a_fresh_game(room):
    host, guest, old = room
    again = post(host, f"/api/games/{old}/rematch", {})[1]["game"]
    assert post(host, f"/api/games/{again}/rounds/1/start", {})[0] == 200
    status, body = post(guest, f"/api/games/{old}/rematch", {})
    assert status == 409 and body["offer"]["set"] == "s"
