"""The daily challenge: the same rounds for everyone each UTC day, one try per account and per browser, a
leaderboard of finished tries with PlaNet on it, and its rounds kept out of the benchmark."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from gameserver.games import daily
from gameserver.games.models import Game, Guess, Round
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.selectors import round_rows

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def established_at_once(settings) -> None:
    """Accounts rank on the board from their first try here; the bar itself is tested below."""
    settings.PLANET_VERIFIED_MIN_ROUNDS = settings.PLANET_VERIFIED_MIN_DAYS = 0


@pytest.fixture
def daily_set(synthetic_test: Path, model_version) -> str:
    panorama_set_import(manifest_path=synthetic_test, name="s")
    return "s"


def order(game: Game) -> list[int]:
    return list(game.rounds.order_by("number").values_list("panorama_id", flat=True))


def test_everyone_plays_the_same_rounds_once_a_day(daily_set):
    ada = daily.daily_game(player_key="guest:ada", browser_key="b-ada", name="Ada", day=DAY)
    bob = daily.daily_game(player_key="guest:bob", browser_key="b-bob", name="Bob", day=DAY)
    assert ada.pk != bob.pk and order(ada) == order(bob) and len(order(ada)) == daily.DAILY_ROUNDS
    assert daily.daily_game(player_key="guest:ada", day=DAY).pk == ada.pk  # one try: the same game
    # Signed in as someone else in the same browser: still the browser's one try.
    assert daily.daily_game(player_key="user:7", browser_key="b-ada", day=DAY).pk == ada.pk
    tomorrow = daily.daily_game(player_key="guest:ada", day=date(2026, 12, 2))
    assert tomorrow.pk != ada.pk and order(tomorrow) != order(ada)


def post(client: Client, url: str, body: object) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def think(round_id: str, seconds: float = 40.0) -> None:
    """A human looks before guessing: the round was served `seconds` ago (an instant guess is no effort's)."""
    Round.objects.filter(public_id=round_id).update(served_at=timezone.now() - timedelta(seconds=seconds))


def play(client: Client, game: str, rounds: int) -> None:
    for number in range(1, rounds + 1):
        view = post(client, f"/api/games/{game}/rounds/{number}/start", {})[1]
        think(view["round"])
        guess = {"latitude": 10.0 * number, "longitude": 5.0}
        assert post(client, f"/api/rounds/{view['round']}/guess", guess)[0] == 201


def signed_in(name: str) -> Client:
    client = Client()
    client.force_login(User.objects.create_user(name.lower(), password="correct horse battery 42"))
    return client


def test_the_leaderboard_ranks_finished_tries_with_planet_and_the_benchmark_leaves_them_out(daily_set):
    ada, bob, cat = signed_in("Ada"), signed_in("Bob"), signed_in("Cat")
    for client in (ada, bob, cat):
        client.get("/api/session")
    games = {
        name: post(client, "/api/daily", {"name": name})[1]
        for name, client in (("Ada", ada), ("Bob", bob), ("Cat", cat))
    }
    assert games["Ada"]["round_count"] == daily.DAILY_ROUNDS and games["Ada"]["game"] != games["Bob"]["game"]
    play(ada, games["Ada"]["game"], daily.DAILY_ROUNDS)
    play(bob, games["Bob"]["game"], daily.DAILY_ROUNDS)
    play(cat, games["Cat"]["game"], 2)  # unfinished: not on the board

    board = ada.get("/api/daily/leaderboard").json()
    assert board["day"] == daily.daily_today().isoformat()
    names = [row["name"] for row in board["leaderboard"]]
    assert sorted(names) == ["Ada", "Bob", "PlaNet"]
    points = [row["points"] for row in board["leaderboard"]]
    assert points == sorted(points, reverse=True)
    planet = next(row for row in board["leaderboard"] if row["model"])
    totals = [
        sum(
            round(cast(float, g.model_points))  # the model answered every round of these games
            for g in Guess.objects.filter(round__game__public_id=games[n]["game"])
        )
        for n in ("Ada", "Bob")
    ]
    assert planet["games"] == 2 and planet["points"] == round(sum(totals) / 2)
    assert ada.get("/api/daily/leaderboard?day=2026-13-01").status_code == 400

    rows = [row for row in round_rows() if row["game_id"] in {games["Ada"]["game"], games["Bob"]["game"]}]
    assert rows and {row["exclusion"] for row in rows} == {"daily_challenge"}


def test_coming_back_to_ones_try_spends_no_allowance(daily_set, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "1/60"}
    client = Client()
    client.get("/api/session")
    first = post(client, "/api/daily", {})
    assert first[0] == 200
    assert [post(client, "/api/daily", {})[1]["game"] for _ in range(3)] == [first[1]["game"]] * 3
    assert post(client, "/api/games", {"set": daily_set})[0] == 429  # the one new game was the daily try


def test_the_days_panoramas_cannot_be_foreseen_without_the_servers_secret(daily_set, settings):
    """The draw is keyed by SECRET_KEY: from the public manifest and the date alone nobody can work out a day's
    rounds (a seed of the date and the set's name was enough before)."""
    panorama_set = PanoramaSet.objects.get(name=daily_set)
    ids = sorted(panorama_set.panoramas.values_list("id", flat=True))
    public_guess = random.Random(f"planet-arena daily {DAY.isoformat()} s").sample(ids, daily.DAILY_ROUNDS)
    draws = []
    for secret in ("a" * 50, "b" * 50, "c" * 50):
        settings.SECRET_KEY = secret
        draws.append(daily.daily_panorama_ids(panorama_set=panorama_set, day=DAY))
        assert draws[-1] == daily.daily_panorama_ids(panorama_set=panorama_set, day=DAY)  # the same all day
    assert public_guess not in draws and len({tuple(d) for d in draws}) == 3


def test_a_daily_try_is_one_players_own_and_cannot_be_joined(daily_set):
    owner, joiner = Client(), Client()
    _, game = post(owner, "/api/daily", {"name": "Ada"})
    status, refused = post(joiner, f"/api/games/{game['game']}/join", {"name": "Bob"})
    assert status == 400 and "daily" in refused["error"]
    # The joiner's own try is still theirs to start, and the owner's plays on alone.
    _, own = post(joiner, "/api/daily", {"name": "Bob"})
    assert own["game"] != game["game"]
    play(owner, game["game"], daily.DAILY_ROUNDS)


def test_signing_out_keeps_the_browsers_one_try(daily_set):
    """Signing out flushed the session and the browser's id with it: the same browser then had a second try."""
    client = Client()
    client.force_login(User.objects.create_user("ada", password="pw"))
    _, game = post(client, "/api/daily", {"name": "Ada"})
    assert client.post("/accounts/sign-out").status_code == 302
    assert post(client, "/api/daily", {"name": "Ada"})[1]["game"] == game["game"]
    assert Game.objects.filter(daily__isnull=False).count() == 1


def test_a_try_with_flagged_guesses_is_not_ranked(daily_set):
    """A try whose guesses no honest human makes (rules.guess_suspicion: the answers, looked up, sent at once)
    stays off the leaderboard; an honest try is on it."""
    cheat, honest = signed_in("Cheat"), signed_in("Honest")
    _, game = post(cheat, "/api/daily", {"name": "Cheat"})
    for number in range(1, daily.DAILY_ROUNDS + 1):
        view = post(cheat, f"/api/games/{game['game']}/rounds/{number}/start", {})[1]
        truth = Round.objects.select_related("panorama").get(public_id=view["round"]).panorama
        post(cheat, f"/api/rounds/{view['round']}/guess", {"latitude": truth.latitude, "longitude": truth.longitude})
    assert Guess.objects.filter(round__game__public_id=game["game"]).exclude(suspicion="").exists()
    play(honest, post(honest, "/api/daily", {"name": "Honest"})[1]["game"], daily.DAILY_ROUNDS)
    names = [row["name"] for row in cheat.get("/api/daily/leaderboard").json()["leaderboard"]]
    assert "Honest" in names and "Cheat" not in names


def test_the_leaderboard_ranks_accounts_and_a_new_cookie_jar_is_no_new_try_on_it(daily_set):
    """A guest's try is a cookie jar's: a puppet one reads the day's truths and a fresh jar is a fresh try, so
    guests play the daily but only accounts are ranked."""
    puppet, account = Client(), signed_in("Ada")
    play(puppet, post(puppet, "/api/daily", {"name": "Puppet"})[1]["game"], daily.DAILY_ROUNDS)
    play(account, post(account, "/api/daily", {"name": "Ada"})[1]["game"], daily.DAILY_ROUNDS)
    names = [row["name"] for row in account.get("/api/daily/leaderboard").json()["leaderboard"]]
    assert "Ada" in names and "Puppet" not in names


def test_only_accounts_with_an_established_history_are_ranked(daily_set, settings):
    """A fresh account is cheap (three an address a day): one with no history plays but is not ranked."""
    settings.PLANET_VERIFIED_MIN_ROUNDS = 3
    fresh, veteran = signed_in("Fresh"), signed_in("Veteran")
    history = post(veteran, "/api/games", {"set": daily_set, "rounds": 3})[1]
    play(veteran, history["game"], 3)
    play(fresh, post(fresh, "/api/daily", {"name": "Fresh"})[1]["game"], daily.DAILY_ROUNDS)
    play(veteran, post(veteran, "/api/daily", {"name": "Veteran"})[1]["game"], daily.DAILY_ROUNDS)
    names = [row["name"] for row in veteran.get("/api/daily/leaderboard").json()["leaderboard"]]
    assert "Veteran" in names and "Fresh" not in names


def test_the_days_places_stay_out_of_ordinary_games_that_day_and_the_next(daily_set):
    """Their answers are being passed around: an ordinary game on the daily set draws every other place first."""
    panorama_set = PanoramaSet.objects.get(name=daily_set)
    today, yesterday = daily.daily_today(), daily.daily_today() - timedelta(days=1)
    spoiled = {
        *daily.daily_panorama_ids(panorama_set=panorama_set, day=today),
        *daily.daily_panorama_ids(panorama_set=panorama_set, day=yesterday),
    }
    others = panorama_set.panoramas.count() - len(spoiled)
    for seed in range(5):
        game = post(signed_in(f"p{seed}"), "/api/games", {"set": daily_set, "rounds": min(others, 10)})[1]
        drawn = set(Round.objects.filter(game__public_id=game["game"]).values_list("panorama_id", flat=True))
        assert drawn and not drawn & spoiled


def test_a_daily_reveal_says_its_round_is_not_counted(daily_set):
    """The tables leave daily rounds out (their answers are passed around for a day); the reveal said counted."""
    player = signed_in("Ada")
    game = post(player, "/api/daily", {"name": "Ada"})[1]["game"]
    view = post(player, f"/api/games/{game}/rounds/1/start", {})[1]
    think(view["round"])
    shown = post(player, f"/api/rounds/{view['round']}/guess", {"latitude": 1.0, "longitude": 2.0})[1]
    assert shown["counted"] is False and shown["tier"] == "excluded" and shown["tier_reasons"] == ["daily_challenge"]


def test_a_set_imported_mid_day_leaves_that_days_challenge_alone(daily_set, synthetic_test):
    """With PLANET_DAILY_SET unset the daily is the first set by name; an upload named 'a-double-click' made the
    day's later tries draw from it, splitting one leaderboard over two sets. The first try records the day's."""
    first = daily.daily_game(player_key="user:1", name="Ada", day=daily.daily_today())
    panorama_set_import(manifest_path=synthetic_test, name="a-double-click")  # sorts before "s"
    later = daily.daily_game(player_key="user:2", name="Bob", day=daily.daily_today())
    assert later.panorama_set.name == first.panorama_set.name == daily_set and order(later) == order(first)
    tomorrow = daily.daily_game(player_key="user:1", day=daily.daily_today() + timedelta(days=1))
    assert tomorrow.panorama_set.name == "a-double-click"  # the new set takes over from the next day


def test_the_board_tells_a_player_their_own_rank_ranked_or_not(daily_set):
    """The daily ending shows the player's rank: on the board, or where their points would stand off it (a
    guest's try is played but not ranked)."""
    ada, guest = signed_in("Ada"), Client()
    assert ada.get("/api/daily/leaderboard").json()["you"] is None  # no try yet
    play(ada, post(ada, "/api/daily", {"name": "Ada"})[1]["game"], daily.DAILY_ROUNDS)
    game = post(guest, "/api/daily", {"name": "Guest"})[1]
    assert game["daily"] == daily.daily_today().isoformat()
    play(guest, game["game"], 2)
    half = guest.get("/api/daily/leaderboard").json()["you"]
    assert half["finished"] is False and half["on_board"] is False
    play_rest = [post(guest, f"/api/games/{game['game']}/rounds/{n}/start", {})[1] for n in (3, 4, 5)]
    for number, view in zip((3, 4, 5), play_rest, strict=True):
        think(view["round"])
        post(guest, f"/api/rounds/{view['round']}/guess", {"latitude": 10.0 * number, "longitude": 5.0})
    board = guest.get("/api/daily/leaderboard").json()
    you = board["you"]
    rows = board["leaderboard"]
    assert you["finished"] is True and you["on_board"] is False and you["of"] == len(rows) + 1
    assert you["rank"] == 1 + sum(1 for row in rows if row["points"] > you["points"])
    mine = ada.get("/api/daily/leaderboard").json()["you"]
    assert mine["on_board"] is True and mine["of"] == len(rows)
    assert mine["rank"] == 1 + sum(1 for row in rows if row["points"] > mine["points"])
    assert post(ada, "/api/games", {"set": daily_set, "rounds": 1})[1]["daily"] is None
