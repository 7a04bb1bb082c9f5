"""The country streak: name the country of each photo; a right one adds the next round, the first miss ends the
game. PlaNet is judged on the same rounds by the country of its point guess. Guesses are country codes,
checked before anything is written; nothing of the country or the place reaches the player before the lock;
streak rounds stay out of the distance tables."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from gameserver.games.models import Game, Guess, Round
from gameserver.panoramas.models import Panorama
from gameserver.stats.selectors import benchmark_from_rows, round_rows
from tests.gameserver.games.test_no_leak import (  # noqa: F401 (located_set is a fixture)
    SYDNEY,
    Crawl,
    crawl_a_round_in_play,
    located_set,
    researcher_client,
)

pytestmark = pytest.mark.django_db(transaction=True)
# A point in a country none of the synthetic regions (France, Kenya, Japan, Peru) lies in.
BRASILIA = (-15.79, -47.88)


def post(client: Client, url: str, body: object) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def player() -> Client:
    client = Client()
    client.get("/api/session")
    return client


def start(client: Client, game: str, number: int, *, model_right: bool | None = None) -> Round:
    """Serve round `number`; with `model_right`, make the model's committed guess the truth or Brasília."""
    status, view = post(client, f"/api/games/{game}/rounds/{number}/start", {})
    assert status == 200 and view["goal"] == "country", view
    game_round = Round.objects.select_related("panorama").get(public_id=view["round"])
    if model_right is not None:
        point = (game_round.panorama.latitude, game_round.panorama.longitude) if model_right else BRASILIA
        Round.objects.filter(pk=game_round.pk).update(
            model_status=Round.ModelStatus.READY, model_latitude=point[0], model_longitude=point[1]
        )
    return game_round


@pytest.mark.parametrize(
    ("model_rights", "model_streak", "alive"),
    [((True, True, True), 3, True), ((True, False, True), 1, False), ((False, True, True), 0, False)],
)
def test_a_streak_of_two_then_a_miss_ends_the_game_and_planet_is_judged_on_the_same_rounds(
    synthetic, model_rights, model_streak, alive
):
    client = player()
    status, game = post(client, "/api/games", {"set": synthetic, "goal": "country", "rounds": 7})
    assert status == 201 and game["goal"] == "country" and game["round_count"] == 1  # it grows as it goes
    assert game["streak"] == {"human": 0, "model": 0, "rounds": 0, "model_alive": True, "over": False}
    named: list[str] = []
    for number, model_right in enumerate(model_rights, 1):
        game_round = start(client, game["game"], number, model_right=model_right)
        truth = game_round.panorama.country
        assert truth in {"FR", "KE", "JP", "PE"}
        # Right twice (the second time in lower case), then a country the photo is not in.
        guess = {1: truth, 2: truth.lower(), 3: "BR"}[number]
        status, reveal = post(client, f"/api/rounds/{game_round.public_id}/guess", {"country": guess})
        assert status == 201, reveal
        named.append(guess.upper())
        assert reveal["truth"]["country"] == truth and reveal["human"]["country"] == guess.upper()
        assert reveal["human"]["right"] is (number < 3) and reveal["streak"]["ended"] is (number == 3)
        assert reveal["model"]["country"] == (truth if model_right else "BR")
        assert reveal["model"]["right"] is model_right
        assert reveal["streak"]["human"] == min(number, 2)
        assert reveal["streak"]["model"] == min(number, model_streak)
        assert "km" not in reveal["human"] and "winners" not in reveal and reveal["counted"] is False
    summary = client.get(f"/api/games/{game['game']}").json()
    assert summary["finished"] and summary["round_count"] == 3 and len(summary["rounds"]) == 3
    assert summary["streak"] == {"human": 2, "model": model_streak, "rounds": 3, "model_alive": alive, "over": True}
    guesses = list(Guess.objects.filter(round__game__public_id=game["game"]).order_by("round__number"))
    assert [g.country for g in guesses] == named
    assert all(g.km is None and g.model_km is None and g.model_points is None and g.points == 0 for g in guesses)
    assert all(g.model_committed_first for g in guesses)
    # The three rounds are three different panoramas: drawn without repeats.
    assert len({g.round.panorama_id for g in guesses}) == 3
    assert post(client, f"/api/games/{game['game']}/rounds/4/start", {})[0] == 404  # over: no next round


def test_a_timeout_ends_the_streak(synthetic):
    client = player()
    game = post(client, "/api/games", {"set": synthetic, "goal": "country"})[1]
    game_round = start(client, game["game"], 1)
    status, reveal = post(client, f"/api/rounds/{game_round.public_id}/guess", {"timed_out": True})
    assert status == 201 and reveal["human"] == {
        "latitude": None,
        "longitude": None,
        "country": None,
        "timed_out": True,
        "right": False,
    }
    summary = client.get(f"/api/games/{game['game']}").json()
    assert summary["finished"] and summary["streak"]["human"] == 0 and summary["streak"]["over"]


def test_naming_every_country_of_the_set_ends_the_streak_unbroken(synthetic):
    client = player()
    game = post(client, "/api/games", {"set": synthetic, "goal": "country"})[1]
    size = Panorama.objects.filter(panorama_set__name=synthetic).count()
    for number in range(1, size + 1):
        game_round = start(client, game["game"], number)
        assert (
            post(client, f"/api/rounds/{game_round.public_id}/guess", {"country": game_round.panorama.country})[0]
            == 201
        )
    summary = client.get(f"/api/games/{game['game']}").json()
    assert summary["finished"] and summary["streak"]["human"] == size and summary["round_count"] == size


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"country": "ZZ"}, "ISO 3166-1 alpha-2"),
        ({"country": "FRA"}, "ISO 3166-1 alpha-2"),
        ({"country": ""}, "ISO 3166-1 alpha-2"),
        ({}, "names a country"),
        ({"country": 33}, "country must be a string"),
        ({"country": ["FR"]}, "country must be a string"),
        ({"latitude": 48.85, "longitude": 2.35}, "takes a country, not a point"),
        ({"country": "FR", "latitude": 48.85, "longitude": 2.35}, "takes a country, not a point"),
    ],
)
def test_a_bad_country_guess_is_refused_with_a_clear_400_and_nothing_written(synthetic, body, message):
    client = player()
    game = post(client, "/api/games", {"set": synthetic, "goal": "country"})[1]
    game_round = start(client, game["game"], 1)
    status, answer = post(client, f"/api/rounds/{game_round.public_id}/guess", body)
    assert status == 400 and message in answer["error"], answer
    assert not Guess.objects.exists() and Round.objects.filter(game__public_id=game["game"]).count() == 1
    assert client.get(f"/api/rounds/{game_round.public_id}").json()["locked"] is False


def test_a_distance_round_refuses_a_country_and_a_bad_goal_is_refused(synthetic):
    client = player()
    game = post(client, "/api/games", {"set": synthetic, "rounds": 1})[1]
    assert game["goal"] == "distance" and game["streak"] is None
    view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})[1]
    assert view["goal"] == "distance"
    status, answer = post(client, f"/api/rounds/{view['round']}/guess", {"country": "FR"})
    assert status == 400 and "not a country" in answer["error"] and not Guess.objects.exists()
    status, answer = post(client, "/api/games", {"set": synthetic, "goal": "continent"})
    assert status == 400 and "goal must be one of" in answer["error"]
    assert "FR" in client.get("/api/catalogue").json()["countries"]


def test_a_streak_is_played_alone(synthetic):
    owner, other = player(), player()
    game = post(owner, "/api/games", {"set": synthetic, "goal": "country"})[1]
    status, answer = post(other, f"/api/games/{game['game']}/join", {"name": "bob"})
    assert status == 400 and "played alone" in answer["error"]
    assert Game.objects.get(public_id=game["game"]).players.count() == 1


def country_values(data: object, found: list[str], key: str = "") -> list[str]:
    """Every non-empty value under a key naming a country or continent, anywhere in a JSON document."""
    if isinstance(data, dict):
        for name, value in data.items():
            country_values(value, found, name)
    elif isinstance(data, list):
        for value in data:
            country_values(value, found, key)
    elif data not in (None, "") and ("country" in key or "continent" in key):
        found.append(f"{key}={data}")
    return found


def country_leaks(crawl: Crawl, names: tuple[str, ...]) -> list[str]:
    """Country or continent values in the JSON a crawl saw (the catalogue's list of codes and the schema
    excepted: they are the same for every round), and the truth's names anywhere in any response."""
    leaks = []
    for url, text in crawl.seen:
        body = text.find("\n{")  # Crawl keeps the headers, then the body
        if body >= 0 and url not in ("/api/catalogue", "/api/schema"):
            try:
                leaks += [f"{hit} in {url}" for hit in country_values(json.loads(text[body + 1 :]), [])]
            except json.JSONDecodeError:  # not JSON: the names below still apply
                pass
        leaks += [f"{name} in {url}" for name in names if name in text]
    return leaks


def test_nothing_before_the_lock_holds_the_country_or_the_place(located_set):
    player_crawl, outsider = Crawl(researcher_client()), Crawl(Client())
    game = player_crawl.post("/api/games", {"set": located_set, "goal": "country", "mode": "move"}).json()
    # The round is made Sydney's before it is served, as the leak crawl does.
    Round.objects.filter(game__public_id=game["game"]).update(
        panorama=Panorama.objects.get(latitude=SYDNEY[0], longitude=SYDNEY[1])
    )
    view = player_crawl.post(f"/api/games/{game['game']}/rounds/1/start", {}).json()
    game_round = Round.objects.get(public_id=view["round"])
    assert game_round.model_status == Round.ModelStatus.READY and game_round.panorama.country == "AU"
    assert game_round.model_latitude is not None and game_round.model_longitude is not None
    points = {"truth": SYDNEY, "model guess": (game_round.model_latitude, game_round.model_longitude)}
    crawl = {"game_id": game["game"], "round_id": view["round"], "set_name": located_set}
    crawl_a_round_in_play(player=player_crawl, outsider=outsider, **crawl)
    names = ("Australia", "Oceania")
    assert player_crawl.leaks(points) + outsider.leaks(points) == []
    assert country_leaks(player_crawl, names) + country_leaks(outsider, names) == []

    after = Crawl(player_crawl.client)
    assert after.post(f"/api/rounds/{view['round']}/guess", {"country": "NZ"}).status_code == 201
    after.get(f"/api/rounds/{view['round']}")
    # The same detectors find the truth once the guess is locked: the crawl above could have failed.
    assert after.leaks({"truth": SYDNEY}) and "country=AU" in " ".join(country_leaks(after, names))
    assert after.get(f"/api/games/{game['game']}").json()["streak"]["human"] == 0


def test_streak_rounds_stay_out_of_the_distance_tables(synthetic):
    client = player()
    distance = post(client, "/api/games", {"set": synthetic, "rounds": 2})[1]
    for number in (1, 2):
        view = post(client, f"/api/games/{distance['game']}/rounds/{number}/start", {})[1]
        assert post(client, f"/api/rounds/{view['round']}/guess", {"latitude": 10.5, "longitude": 20.5})[0] == 201
    streak = post(client, "/api/games", {"set": synthetic, "goal": "country"})[1]
    first = start(client, streak["game"], 1)
    post(client, f"/api/rounds/{first.public_id}/guess", {"country": first.panorama.country})
    second = start(client, streak["game"], 2)
    post(client, f"/api/rounds/{second.public_id}/guess", {"country": "BR"})

    rows = round_rows()
    streak_rows = [row for row in rows if row["game_id"] == streak["game"]]
    assert len(rows) == 4 and len(streak_rows) == 2
    assert {row["exclusion"] for row in streak_rows} == {"country_streak"}
    assert not any(row["counted"] for row in streak_rows)
    assert all(row["human_km"] is None and row["model_km"] is None for row in streak_rows)
    assert [row["human_country"] for row in streak_rows] == [first.panorama.country, "BR"]
    tables = benchmark_from_rows(rows=rows, resamples=50)
    assert isinstance(tables["excluded"], dict) and tables["excluded"]["country_streak"] == 2
    assert tables["player_rounds"] == 4
    assert tables["rounds"] == sum(bool(row["counted"]) for row in rows) <= 2
