"""Rate limits on game creation, joins and guesses: 429 with Retry-After, nothing written, others unaffected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from gameserver.games.models import Game, Guess, Player
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def synthetic(synthetic_test: Path, model_version) -> str:
    panorama_set_import(manifest_path=synthetic_test, name="s")
    return "s"


def post(client: Client, url: str, body: object):  # -> HttpResponse
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_game_creation_is_limited_per_address_and_a_refusal_writes_nothing(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "3/60"}
    guests = [Client(REMOTE_ADDR="10.0.0.1") for _ in range(4)]  # new sessions do not reset an address's count
    statuses = [post(guest, "/api/games", {"set": synthetic, "rounds": 1}).status_code for guest in guests]
    assert statuses == [201, 201, 201, 429]
    refused = post(guests[0], "/api/games", {"set": synthetic, "rounds": 1})
    assert refused.status_code == 429 and "too many requests" in refused.json()["error"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Game.objects.count() == 3
    assert post(Client(REMOTE_ADDR="10.0.0.2"), "/api/games", {"set": synthetic, "rounds": 1}).status_code == 201


def test_joins_count_against_the_same_allowance(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "2/60"}
    game = post(Client(REMOTE_ADDR="10.0.0.9"), "/api/games", {"set": synthetic, "rounds": 1}).json()["game"]
    joiner = Client(REMOTE_ADDR="10.0.0.1")
    assert post(joiner, f"/api/games/{game}/join", {}).status_code == 200
    assert post(Client(REMOTE_ADDR="10.0.0.1"), f"/api/games/{game}/join", {}).status_code == 200
    assert post(Client(REMOTE_ADDR="10.0.0.1"), f"/api/games/{game}/join", {}).status_code == 429
    assert Player.objects.count() == 3


def test_guesses_are_limited_per_player_and_a_refused_guess_is_not_stored(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "guesses": "2/60"}
    player, other = Client(), Client()
    game = post(player, "/api/games", {"set": synthetic, "rounds": 3}).json()["game"]
    post(other, f"/api/games/{game}/join", {})
    rounds = [post(player, f"/api/games/{game}/rounds/{n}/start", {}).json()["round"] for n in (1, 2, 3)]
    assert post(player, f"/api/rounds/{rounds[0]}/guess", {"latitude": 1, "longitude": 2}).status_code == 201
    assert post(player, f"/api/rounds/{rounds[0]}/guess", {"latitude": 1, "longitude": 2}).status_code == 200
    refused = post(player, f"/api/rounds/{rounds[1]}/guess", {"latitude": 1, "longitude": 2})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Guess.objects.count() == 1
    # Another player's allowance is their own.
    post(other, f"/api/games/{game}/rounds/2/start", {})
    assert post(other, f"/api/rounds/{rounds[1]}/guess", {"latitude": 1, "longitude": 2}).status_code == 201


def test_the_window_resets(settings, synthetic, monkeypatch):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "1/60"}
    clock = [6000.0]
    monkeypatch.setattr("gameserver.games.throttle.time.time", lambda: clock[0])
    client = Client()
    assert post(client, "/api/games", {"set": synthetic, "rounds": 1}).status_code == 201
    refused = post(client, "/api/games", {"set": synthetic, "rounds": 1})
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    clock[0] += 60
    assert post(client, "/api/games", {"set": synthetic, "rounds": 1}).status_code == 201
