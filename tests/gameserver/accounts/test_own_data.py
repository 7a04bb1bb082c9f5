"""The research notice links the datasheet; a signed-in player downloads their own rounds and deletes them:
their guesses and seats leave the game and every later export; a game others sat in stays theirs. Guests and
unconfirmed requests are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gameserver.games.models import Game, Guess, Player
from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.selectors import player_id, round_rows

pytestmark = pytest.mark.django_db(transaction=True)  # the model answers on commit


def post(client: Client, url: str, body: object):  # -> HttpResponse
    return client.post(url, data=json.dumps(body), content_type="application/json")


def play_one_round(client: Client, *, rounds: int = 1) -> str:
    game = post(client, "/api/games", {"set": "s", "rounds": rounds, "name": "Ada"}).json()["game"]
    for number in range(1, rounds + 1):
        round_id = post(client, f"/api/games/{game}/rounds/{number}/start", {}).json()["round"]
        post(client, f"/api/rounds/{round_id}/guess", {"latitude": 1.0, "longitude": 2.0})
    return game


@pytest.fixture
def ada(synthetic_test: Path, model_version) -> tuple[Client, User]:
    panorama_set_import(manifest_path=synthetic_test, name="s")
    user = User.objects.create_user("ada", password="correct horse battery 42")
    client = Client()
    client.force_login(user)
    return client, user


def test_a_player_downloads_exactly_their_own_rounds(ada) -> None:
    client, user = ada
    play_one_round(client, rounds=2)
    play_one_round(Client())  # someone else's round
    response = client.get("/api/profile/data")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = response.json()
    assert data["player_id"] == player_id(f"user:{user.pk}") and data["rounds"] == 2
    assert {row["player_id"] for row in data["rows"]} == {data["player_id"]}
    assert Client().get("/api/profile/data").status_code == 401


def test_deleting_removes_the_players_rounds_from_every_later_export(ada) -> None:
    client, user = ada
    own = play_one_round(client)
    other = Client()
    play_one_round(other)
    mine = player_id(f"user:{user.pk}")
    assert mine in {row["player_id"] for row in round_rows()}

    assert post(client, "/api/profile/delete", {}).status_code == 400  # not confirmed: nothing deleted
    assert Guess.objects.filter(player_key=f"user:{user.pk}").exists()
    response = post(client, "/api/profile/delete", {"confirm": "delete"})
    assert response.status_code == 200 and response.json()["deleted"] == {"guesses": 1, "seats": 1, "games": 1}

    rows = round_rows()
    assert mine not in {row["player_id"] for row in rows} and len(rows) == 1  # the other player's round stays
    assert not Game.objects.filter(public_id=own).exists()
    assert client.get("/api/profile/data").json()["rounds"] == 0
    assert post(Client(), "/api/profile/delete", {"confirm": "delete"}).status_code == 401


def test_a_room_others_sat_in_stays_with_them(ada) -> None:
    client, user = ada
    game = post(client, "/api/games", {"set": "s", "rounds": 1, "kind": "room"}).json()["game"]
    guest = Client()
    assert post(guest, f"/api/games/{game}/join", {"name": "Bea"}).status_code == 200
    post(client, "/api/profile/delete", {"confirm": "delete"})
    room = Game.objects.get(public_id=game)
    assert list(Player.objects.filter(game=room).values_list("name", flat=True)) == ["Bea"]
    assert room.owner_key == Player.objects.get(game=room).player_key


def test_the_lobby_and_the_join_form_carry_the_research_notice_linking_the_datasheet(ada) -> None:
    client, _ = ada
    game = post(client, "/api/games", {"set": "s", "rounds": 1, "kind": "room"}).json()["game"]
    for page in ("/", f"/play/{game}"):
        html = Client().get(page).content.decode()
        assert 'id="research-notice"' in html and "recorded for research" in html and 'href="/datasheet"' in html
        assert "for as long as the benchmark runs" in html and "researchers and admins" in html
    sheet = Client().get("/datasheet").content.decode()
    assert all(section in sheet for section in ("## Motivation", "## Consent", "## Maintenance"))
