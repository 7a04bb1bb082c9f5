"""Rate limits on game creation, joins, round starts, the model predictions first serves queue, and guesses:
a sliding window (no burst across a window boundary), 429 with Retry-After, nothing written, others unaffected,
on the embedded cache and on Redis alike, and out of the way while the cache is down."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from gameserver.games import throttle
from gameserver.games.models import Game, Guess, Player, Round
from gameserver.objectstore import planet_storage
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import served_view_key

pytestmark = pytest.mark.django_db


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


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The limiter's clock, set by the test: clock[0] = seconds."""
    now = [6000.0]
    monkeypatch.setattr("gameserver.games.throttle.time.time", lambda: now[0])
    return now


@pytest.fixture
def predictions(monkeypatch: pytest.MonkeyPatch, transactional_db: None) -> list[int]:
    """The ids of rounds whose model prediction was queued (on commit, as in production: real transactions)."""
    queued: list[int] = []
    monkeypatch.setattr("gameserver.games.services.predict_round_enqueue", lambda *, round_id: queued.append(round_id))
    return queued


def served_views() -> int:
    folder = Path(planet_storage().path(served_view_key(name="x"))).parent
    return len(list(folder.iterdir())) if folder.exists() else 0


def start(client: Client, game: str, number: int):  # -> HttpResponse
    return post(client, f"/api/games/{game}/rounds/{number}/start", {})


def test_a_burst_across_a_window_boundary_does_not_exceed_the_limit(settings, synthetic, clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "3/60"}
    client = Client(REMOTE_ADDR="10.0.0.3")
    clock[0] = 6059.5  # half a second before a fixed window would start again
    assert [post(client, "/api/games", {"set": synthetic, "rounds": 1}).status_code for _ in range(3)] == [201] * 3
    clock[0] = 6060.5
    refused = post(client, "/api/games", {"set": synthetic, "rounds": 1})
    assert refused.status_code == 429 and refused["Retry-After"] == "59"
    assert Game.objects.count() == 3
    clock[0] = 6119.4
    assert post(client, "/api/games", {"set": synthetic, "rounds": 1})["Retry-After"] == "1"
    clock[0] = 6119.5  # 60 s after the burst: its three have aged out together
    statuses = [post(client, "/api/games", {"set": synthetic, "rounds": 1}).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429] and Game.objects.count() == 6


def test_round_start_requests_are_limited_per_address(settings, synthetic, clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "round_starts": "3/60"}
    player = Client(REMOTE_ADDR="10.0.0.4")
    game = post(player, "/api/games", {"set": synthetic, "rounds": 2}).json()["game"]
    assert [start(player, game, 1).status_code for _ in range(3)] == [200, 200, 200]
    refused = start(player, game, 2)
    assert refused.status_code == 429 and refused["Retry-After"] == "60" and "too many" in refused.json()["error"]
    assert Round.objects.get(game__public_id=game, number=2).served_at is None
    other = Client(REMOTE_ADDR="10.0.0.5")
    mine = post(other, "/api/games", {"set": synthetic, "rounds": 1}).json()["game"]
    assert start(other, mine, 1).status_code == 200


def test_first_serves_are_limited_per_address_and_a_refusal_writes_nothing(settings, synthetic, clock, predictions):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "predictions": "2/60"}
    player = Client(REMOTE_ADDR="10.0.0.6")
    game = post(player, "/api/games", {"set": synthetic, "rounds": 3}).json()["game"]
    first = start(player, game, 1).json()
    assert start(player, game, 2).status_code == 200
    refused = start(player, game, 3)
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    third = Round.objects.get(game__public_id=game, number=3)
    assert third.served_at is None and third.deadline is None and third.view_name == "" and third.view_sha256 == ""
    assert len(predictions) == 2 and served_views() == 2
    # A served round is served again (the same view, nothing queued): that is no new prediction.
    assert start(player, game, 1).json() == first and len(predictions) == 2
    # Another address has its own allowance; this one's comes back as its first serves age out.
    other = Client(REMOTE_ADDR="10.0.0.7")
    theirs = post(other, "/api/games", {"set": synthetic, "rounds": 1}).json()["game"]
    assert start(other, theirs, 1).status_code == 200
    clock[0] += 60
    assert start(player, game, 3).status_code == 200 and len(predictions) == 4


def test_first_serves_are_limited_per_game_from_whatever_address(settings, synthetic, clock, predictions):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "game_predictions": "2/60"}
    host = Client()
    game = post(host, "/api/games", {"set": synthetic, "rounds": 3}).json()["game"]
    # The host (who alone starts a room's rounds) moves from address to address: the game's allowance holds.
    for number, status in ((1, 200), (2, 200), (3, 429)):
        response = host.post(
            f"/api/games/{game}/rounds/{number}/start",
            data="{}",
            content_type="application/json",
            REMOTE_ADDR=f"10.0.1.{number}",
        )
        assert response.status_code == status
    assert Round.objects.get(game__public_id=game, number=3).served_at is None and len(predictions) == 2
    other = post(host, "/api/games", {"set": synthetic, "rounds": 1}).json()["game"]
    assert start(host, other, 1).status_code == 200


def test_fifty_round_starts_in_a_burst_queue_only_the_allowance(
    settings, model_version, predictions, tmp_path, synthetic_set_writer: Callable[..., Path]
):
    """Issue 16's attack: every round of a 50-round game started at once, under the default limits."""
    manifest = synthetic_set_writer(tmp_path / "many", per_region=13, seed=5, size=(48, 36))
    panorama_set_import(manifest_path=manifest, name="many")
    attacker = Client(REMOTE_ADDR="10.0.0.8")
    game = post(attacker, "/api/games", {"set": "many", "rounds": 50}).json()["game"]
    statuses = [start(attacker, game, number).status_code for number in range(1, 51)]
    allowed = min(
        throttle.limit_parse(settings.RATE_LIMITS[scope]).requests
        for scope in ("round_starts", "predictions", "game_predictions")
    )
    assert statuses == [200] * allowed + [429] * (50 - allowed)
    assert len(predictions) == allowed == Round.objects.filter(served_at__isnull=False).count()


def test_concurrent_requests_never_pass_the_limit(settings, db):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "5/60"}
    admitted: list[bool] = []

    def request() -> None:
        try:
            throttle.rate_limit_hit(scope="games", key="10.0.0.9")
            admitted.append(True)
        except throttle.RateLimited:
            admitted.append(False)

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 5 and len(admitted) == 20


def test_a_refused_check_of_several_limits_spends_none(settings, db, clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "predictions": "5/60", "game_predictions": "1/60"}
    throttle.rate_limits_hit(checks=[("predictions", "a"), ("game_predictions", "g1")])
    for _ in range(3):
        with pytest.raises(throttle.RateLimited):
            throttle.rate_limits_hit(checks=[("predictions", "a"), ("game_predictions", "g1")])
    for game in ("g2", "g3", "g4", "g5"):  # the refusals above spent nothing of the address's five
        throttle.rate_limits_hit(checks=[("predictions", "a"), ("game_predictions", game)])
    with pytest.raises(throttle.RateLimited):
        throttle.rate_limits_hit(checks=[("predictions", "a"), ("game_predictions", "g6")])


def test_the_game_goes_on_uncounted_while_the_cache_is_down(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "1/60", "predictions": "1/60"}
    # A Redis that is not there (port 9: nothing listens): every check fails and lets the request through.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    client = Client(REMOTE_ADDR="10.0.0.10")
    games = [post(client, "/api/games", {"set": synthetic, "rounds": 2}).json()["game"] for _ in range(2)]
    assert [start(client, games[0], n).status_code for n in (1, 2)] == [200, 200]
