"""A room moves together: the host (the seat that made the game) starts each round; the others follow its
round_started event and may fetch a round once it is served. A solo game is unchanged."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from gameserver.games.models import Round

pytestmark = pytest.mark.django_db(transaction=True)  # a serve queues the model on commit


def post(client: Client, url: str, body: object) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_in_a_room_only_the_host_starts_a_round_and_the_others_follow(synthetic, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr("gameserver.games.services.predict_round_enqueue", lambda *, round_id: queued.append(round_id))
    host, guest = Client(), Client()
    _, game = post(host, "/api/games", {"set": synthetic, "rounds": 2, "name": "host"})
    assert post(guest, f"/api/games/{game['game']}/join", {"name": "guest"})[0] == 200
    for number in (1, 2):
        status, refused = post(guest, f"/api/games/{game['game']}/rounds/{number}/start", {})
        assert (status, refused["wait_for_host"]) == (409, True) and "host" in refused["error"]
        assert Round.objects.get(game__public_id=game["game"], number=number).served_at is None
        assert len(queued) == number - 1  # nothing served, so no model prediction queued

        status, started = post(host, f"/api/games/{game['game']}/rounds/{number}/start", {})
        assert status == 200 and len(queued) == number
        status, followed = post(guest, f"/api/games/{game['game']}/rounds/{number}/start", {})
        assert status == 200 and followed["round"] == started["round"] and len(queued) == number
        for client in (host, guest):
            assert post(client, f"/api/rounds/{started['round']}/guess", {"latitude": 1.0, "longitude": 2.0})[0] == 201


def test_a_solo_player_starts_their_own_rounds(synthetic):
    player = Client()
    _, game = post(player, "/api/games", {"set": synthetic, "rounds": 1})
    assert post(player, f"/api/games/{game['game']}/rounds/1/start", {})[0] == 200
