"""The profile: a tiny game checked by hand (games, rounds, mean points, the record against the model by the
closer guess, counted rounds only) and the rating over time, whose last point is the benchmark page's."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gameserver.games.models import Round
from gameserver.games.rules import round_model_km
from gameserver.stats.selectors import player_id
from planet_engine.geo import geoscore

pytestmark = pytest.mark.django_db(transaction=True)  # the model answers on commit


def post_json(client: Client, url: str, body: object):  # -> HttpResponse
    return client.post(url, data=json.dumps(body), content_type="application/json")


def play(client: Client, synthetic: str, *, closer: list[bool]) -> list[float]:
    """A game of len(closer) rounds: each guess half the model's error from the truth (closer), or at the
    antipode of the truth (farther). Returns the player's errors in km, as revealed."""
    errors = []
    game = post_json(client, "/api/games", {"set": synthetic, "rounds": len(closer), "name": "Ada"}).json()["game"]
    for number, wins in enumerate(closer, start=1):
        round_id = post_json(client, f"/api/games/{game}/rounds/{number}/start", {}).json()["round"]
        game_round = Round.objects.select_related("panorama").get(public_id=round_id)
        truth = game_round.panorama
        model_km = round_model_km(round=game_round)
        assert model_km is not None and model_km > 1.0  # the model answered on serving (eager task), not exactly
        if wins:  # due north by half the model's error: 1° of latitude is 111.195 km
            guess = {
                "latitude": truth.latitude + (model_km / 2) / 111.195 * (1 if truth.latitude < 0 else -1),
                "longitude": truth.longitude,
            }
        else:
            guess = {"latitude": -truth.latitude, "longitude": truth.longitude + (180 if truth.longitude < 0 else -180)}
        reveal = post_json(client, f"/api/rounds/{round_id}/guess", guess)
        assert reveal.status_code == 201
        errors.append(reveal.json()["human"]["km"])
    return errors


def test_a_guests_profile_counts_a_tiny_game_by_hand(synthetic):
    client = Client()
    near, far = play(client, synthetic, closer=[True, False])
    assert far > 19_000  # the antipode
    profile = client.get("/api/profile").json()
    assert profile["player"] == "guest" and profile["name"] is None and profile["display_name"] == "Ada"
    assert (profile["games"], profile["rounds"], profile["counted_rounds"]) == (1, 2, 2)
    assert profile["mean_points"] == pytest.approx((geoscore(near) + geoscore(far)) / 2)
    assert profile["models"] == [{"model": "tiny", "rounds": 2, "wins": 1, "ties": 0, "losses": 1}]
    # One win, one loss against the anchor (1500): the posterior mode is the anchor itself.
    [point] = profile["rating"]["points"]
    assert point["counted_rounds"] == 2 and point["rating"] == pytest.approx(1500.0, abs=1e-6)
    assert profile["rating"]["anchor"] == "tiny" and profile["rating"]["provisional"] is True


def test_the_last_rating_is_the_benchmark_pages_and_each_game_adds_a_point(synthetic):
    User.objects.create_user("ada", password="correct horse battery 42")
    client = Client()
    client.login(username="ada", password="correct horse battery 42")
    play(client, synthetic, closer=[True, True])
    play(client, synthetic, closer=[False, True, True])
    profile = client.get("/api/profile").json()
    assert (profile["player"], profile["name"]) == ("user", "ada")
    assert [p["counted_rounds"] for p in profile["rating"]["points"]] == [2, 5]
    first, last = (p["rating"] for p in profile["rating"]["points"])
    assert first > 1500 and last > 1500
    ratings = client.get("/api/stats/benchmark?tier=open").json()["ratings"]
    [mine] = [r for r in ratings if r["name"] == player_id(f"user:{User.objects.get().pk}")]
    assert last == pytest.approx(mine["rating"], abs=1e-6)
    assert profile["models"] == [{"model": "tiny", "rounds": 5, "wins": 4, "ties": 0, "losses": 1}]


def test_a_timeout_scores_zero_and_loses(synthetic):
    client = Client()
    game = post_json(client, "/api/games", {"set": synthetic, "rounds": 1}).json()["game"]
    round_id = post_json(client, f"/api/games/{game}/rounds/1/start", {}).json()["round"]
    post_json(client, f"/api/rounds/{round_id}/guess", {"timed_out": True})
    profile = client.get("/api/profile").json()
    assert profile["mean_points"] == 0.0
    assert profile["models"] == [{"model": "tiny", "rounds": 1, "wins": 0, "ties": 0, "losses": 1}]


def test_an_empty_profile_and_the_page():
    client = Client()
    profile = client.get("/api/profile").json()
    assert (profile["games"], profile["rounds"], profile["mean_points"], profile["models"]) == (0, 0, None, [])
    assert profile["rating"]["points"] == []
    page = client.get("/profile").content.decode()
    assert 'id="guest-invite"' in page and "arena/profile.js" in page
