"""A whole game through the JSON API, with the model guessing on the same pixels in the (eager) worker."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from gameserver.games.errors import GameError
from gameserver.games.guessing import guess_submit
from gameserver.games.model_guess import round_predict
from gameserver.games.models import Game, Guess, Player, Round
from gameserver.games.reveal import round_reveal
from gameserver.games.rules import round_view_key
from gameserver.games.services import game_create, round_serve
from gameserver.objectstore import object_read
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def panorama_set(synthetic_test: Path, model_version) -> PanoramaSet:
    report = panorama_set_import(manifest_path=synthetic_test, name="synthetic", licence="CC0")
    return PanoramaSet.objects.get(pk=report.set_id)


def post(client: Client, url: str, body: object) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_full_game_played_through_the_api(panorama_set):
    client = Client()
    assert client.get("/api/session").status_code == 200
    status, game = post(client, "/api/games", {"set": "synthetic", "rounds": 3, "mode": "nmpz"})
    assert status == 201 and game["round_count"] == 3 and not game["finished"]
    for number in (1, 2, 3):
        status, view = post(client, f"/api/games/{game['game']}/rounds/{number}/start", {})
        assert status == 200 and view["number"] == number and view["mode"] == "nmpz"
        image = client.get(view["image_url"])
        assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
        assert client.get(f"/api/rounds/{view['round']}").json()["locked"] is False
        status, reveal = post(client, f"/api/rounds/{view['round']}/guess", {"latitude": 48.8, "longitude": 2.3})
        assert status == 201 and reveal["locked"] and not reveal["repeated"]
        assert reveal["model"]["status"] == "ready"
        assert set(reveal["winners"]) == {"street", "city", "region", "country", "continent"}
        assert reveal["human"]["points"] == round(5000 * 2.718281828459045 ** (-reveal["human"]["km"] / 1492.7))
        assert len(reveal["model"]["top_cells"]) >= 1
        # A second submission changes nothing and says so.
        status, again = post(client, f"/api/rounds/{view['round']}/guess", {"latitude": 0, "longitude": 0})
        assert status == 200 and again["repeated"] and again["human"] == reveal["human"]
    summary = client.get(f"/api/games/{game['game']}").json()
    assert summary["finished"] and summary["total_points"] == sum(r["points"] for r in summary["rounds"])


def test_model_guess_is_committed_before_the_human_guess_is_accepted(panorama_set):
    game = game_create(panorama_set=panorama_set, owner_key="p1", rounds=1)
    served = round_serve(round=game.rounds.get(), player_key="p1")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.READY and served.model_ready_at is not None
    result = guess_submit(round=served, player_key="p1", latitude=10, longitude=10)
    assert result.guess.model_committed_first and result.guess.guessed_at >= served.model_ready_at
    # The model saw exactly the bytes players are served: the round's own encoding, not the stored image.
    assert served.view_sha256 == hashlib.sha256(object_read(key=round_view_key(round=served))).hexdigest()
    assert served.view_sha256 != served.panorama.content_sha256
    assert served.model_checkpoint_sha256


def test_a_guess_before_the_model_is_ready_is_kept_but_marked(panorama_set, monkeypatch):
    from gameserver.games import tasks

    enqueued: list[int] = []
    monkeypatch.setattr(tasks.predict_round, "delay", enqueued.append)  # a worker that has not answered yet
    game = game_create(panorama_set=panorama_set, owner_key="p1", rounds=1)
    served = round_serve(round=game.rounds.get(), player_key="p1")
    guess = guess_submit(round=served, player_key="p1", latitude=10, longitude=10).guess
    assert not guess.model_committed_first and guess.model_km is None
    assert enqueued == [served.pk]
    assert round_reveal(round=served, guess=guess)["model"] == {"status": "pending"}
    round_predict(round_id=served.pk)
    served.refresh_from_db()
    late = round_reveal(round=served, guess=guess)
    # Shown once it arrives, but never counted: the model may not answer after seeing the human's guess.
    assert isinstance(late["model"], dict) and late["model"]["km"] > 0 and late["winners"] and late["counted"] is False


def test_an_unusable_checkpoint_marks_the_model_unavailable_and_the_round_still_plays(
    panorama_set, model_version, checkpoint_broken
):
    checkpoint_broken(model_version, b"not a model")  # the stored checkpoint was damaged since
    game = game_create(panorama_set=panorama_set, owner_key="p1", rounds=1)
    served = round_serve(round=game.rounds.get(), player_key="p1")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.UNAVAILABLE and "changed since registration" in served.model_error
    guess = guess_submit(round=served, player_key="p1", latitude=10, longitude=10).guess
    assert guess.points > 0 and not guess.model_committed_first


def test_rounds_are_drawn_without_repeats(panorama_set):
    count = panorama_set.panoramas.count()
    game = game_create(panorama_set=panorama_set, owner_key="p", rounds=count, rng=random.Random(3))
    assert len(set(game.rounds.values_list("panorama_id", flat=True))) == count
    with pytest.raises(GameError, match="fewer than"):
        game_create(panorama_set=panorama_set, owner_key="p", rounds=count + 1)


def test_guess_after_the_deadline_counts_as_a_timeout(panorama_set):
    game = game_create(panorama_set=panorama_set, owner_key="p", rounds=1, time_limit_s=30)
    served = round_serve(round=game.rounds.get(), player_key="p")
    Round.objects.filter(pk=served.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    guess = guess_submit(round=served, player_key="p", latitude=1, longitude=1).guess
    assert guess.timed_out and guess.points == 0 and guess.latitude is None


def test_two_players_in_one_room_get_their_own_results(panorama_set):
    first, second, outsider = Client(), Client(), Client()
    _, game = post(first, "/api/games", {"set": "synthetic", "rounds": 1, "name": "Ann"})
    status, joined = post(second, f"/api/games/{game['game']}/join", {"name": "Bob"})
    assert status == 200 and [p["name"] for p in joined["players"]] == ["Ann", "Bob"]
    _, view = post(first, f"/api/games/{game['game']}/rounds/1/start", {})
    # Not in the room: an outsider can neither see the round's state nor guess.
    assert outsider.get(f"/api/rounds/{view['round']}").status_code == 403
    status, refused = post(outsider, f"/api/rounds/{view['round']}/guess", {"latitude": 40, "longitude": 40})
    assert status == 403 and "join" in refused["error"] and not Guess.objects.exists()
    _, waiting = post(first, f"/api/rounds/{view['round']}/guess", {"latitude": 0, "longitude": 0})
    # Bob has not guessed: Ann sees her own guess and who has guessed, nothing of the truth or anyone's score.
    assert waiting["revealed"] is False and (waiting["guessed"], waiting["players"]) == (1, 2)
    assert "truth" not in waiting and "km" not in waiting["human"] and "opponents" not in waiting
    assert second.get(f"/api/rounds/{view['round']}").json()["locked"] is False
    _, theirs = post(second, f"/api/rounds/{view['round']}/guess", {"latitude": 40, "longitude": 40})
    mine = first.get(f"/api/rounds/{view['round']}").json()
    assert mine["revealed"] and [o["name"] for o in mine["opponents"]] == ["Bob"]
    assert mine["human"]["km"] != theirs["human"]["km"]
    assert [(o["name"], o["km"]) for o in theirs["opponents"]] == [("Ann", mine["human"]["km"])]
    assert Guess.objects.filter(round__public_id=view["round"]).count() == 2
    # Both see the same room standings, each marked as themselves.
    standings = {p["name"]: p for p in first.get(f"/api/games/{game['game']}").json()["players"]}
    assert standings["Ann"]["you"] and not standings["Bob"]["you"]
    assert standings["Bob"]["total_points"] == theirs["human"]["points"]
    assert second.get(f"/api/games/{game['game']}").json()["players"][1]["you"]


def test_joining_twice_keeps_one_seat_and_a_full_room_refuses(panorama_set, monkeypatch):
    from gameserver.games import services

    owner = Client()
    _, game = post(owner, "/api/games", {"set": "synthetic", "rounds": 1})
    guest = Client()
    assert post(guest, f"/api/games/{game['game']}/join", {})[0] == 200
    assert len(post(guest, f"/api/games/{game['game']}/join", {"name": "again"})[1]["players"]) == 2
    monkeypatch.setattr(services, "MAX_PLAYERS", 2)
    status, error = post(Client(), f"/api/games/{game['game']}/join", {})
    assert status == 400 and "full" in error["error"]
    status, error = post(Client(), f"/api/games/{game['game']}/join", {"name": "x" * 41})
    assert status == 400


def test_a_signed_in_player_is_the_same_player_on_every_device(panorama_set, django_user_model):
    user = django_user_model.objects.create_user("carol", password="pw")
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)
    _, game = post(laptop, "/api/games", {"set": "synthetic", "rounds": 1})
    assert game["players"][0]["name"] == "carol"
    _, view = post(phone, f"/api/games/{game['game']}/rounds/1/start", {})
    status, _ = post(phone, f"/api/rounds/{view['round']}/guess", {"latitude": 1, "longitude": 1})
    assert status == 201 and laptop.get(f"/api/rounds/{view['round']}").json()["locked"] is True


def test_the_catalogue_lists_sets_and_models_and_a_game_can_pick_its_model(
    panorama_set, model_version, tiny_checkpoint
):
    from gameserver.inference.registration import model_version_register

    model_version_register(name="other", checkpoint=tiny_checkpoint)
    client = Client()
    catalogue = client.get("/api/catalogue").json()
    assert catalogue["sets"] == [
        {"name": "synthetic", "panoramas": 20, "views": 20, "licence": "CC0", "attribution": ""}
    ]
    assert [(m["name"], m["default"]) for m in catalogue["models"]] == [("tiny", True), ("other", False)]
    assert post(client, "/api/games", {"set": "synthetic", "rounds": 1})[1]["model"] == "tiny"
    assert post(client, "/api/games", {"set": "synthetic", "rounds": 1, "model": "other"})[1]["model"] == "other"
    assert post(client, "/api/games", {"set": "synthetic", "rounds": 1, "model": "nope"})[0] == 404


@pytest.mark.parametrize(
    "body,message",
    [
        ({"latitude": 91, "longitude": 0}, "latitude"),
        ({"latitude": "north", "longitude": 0}, "finite number"),
        ({"longitude": 0}, "latitude is required"),
        ({"latitude": True, "longitude": 0}, "finite number"),
        ([1, 2], "JSON object"),
        ({"latitude": 0, "longitude": -180.5}, "longitude -180.5 is outside"),
        ({"latitude": 10**400, "longitude": 0}, "latitude must be a finite number"),  # past a float's range
        ({"latitude": [48.8], "longitude": 2.3}, "finite number"),
        ({"latitude": None, "longitude": 0}, "latitude is required"),
    ],
)
def test_bad_guesses_are_rejected_and_nothing_is_written(panorama_set, body, message):
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    status, error = post(client, f"/api/rounds/{view['round']}/guess", body)
    assert status == 400 and message in error["error"]
    assert not Guess.objects.exists()


def test_nan_in_json_is_rejected(panorama_set):
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    response = client.post(
        f"/api/rounds/{view['round']}/guess", data='{"latitude": NaN, "longitude": 0}', content_type="application/json"
    )
    assert response.status_code == 400 and not Guess.objects.exists()


def test_unknown_ids_and_unstarted_rounds(panorama_set):
    client = Client()
    assert client.get("/api/games/nope").status_code == 404
    assert client.get("/api/rounds/nope/image").status_code == 404
    assert post(client, "/api/games", {"set": "missing"})[0] == 404
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 2})
    assert post(client, f"/api/games/{game['game']}/rounds/9/start", {})[0] == 404
    unstarted = Round.objects.get(game__public_id=game["game"], number=2)
    assert client.get(f"/api/rounds/{unstarted.public_id}/image").status_code == 404
    status, error = post(client, f"/api/rounds/{unstarted.public_id}/guess", {"latitude": 0, "longitude": 0})
    assert status == 400 and "not started" in error["error"]


def test_nothing_before_the_guess_reveals_the_location(panorama_set):
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    game_round = Round.objects.select_related("panorama").get(public_id=view["round"])
    texts = [
        json.dumps(view),
        client.get(f"/api/rounds/{view['round']}").content.decode(),
        client.get(f"/api/games/{game['game']}").content.decode(),
    ]
    truth = game_round.panorama
    for text in texts:
        assert f"{truth.latitude:.2f}"[:5] not in text and f"{truth.longitude:.2f}"[:5] not in text
        assert "latitude" not in text and "top_cells" not in text
    assert game_round.panorama.public_id not in view["image_url"]


def test_a_guess_body_that_is_not_json_is_rejected_and_nothing_is_written(panorama_set: PanoramaSet) -> None:
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    for raw in [
        b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's recursion limit
        b'{"latitude": ' + b"9" * 5_000 + b', "longitude": 0}',  # past Python's 4300-digit integer limit
        b'{"latitude": 48.8, "longitude": 2.3',  # cut short
        b"\xff\xfe\x00{",  # not text
    ]:
        response = client.post(f"/api/rounds/{view['round']}/guess", data=raw, content_type="application/json")
        assert response.status_code == 400, raw[:40]
        assert response.json() == {"error": "the request body must be a JSON object"}, raw[:40]
    assert not Guess.objects.exists()


def test_game_options_beyond_any_range_are_rejected_and_nothing_is_written(panorama_set: PanoramaSet) -> None:
    client = Client()
    cases: list[tuple[dict[str, object], str]] = [
        ({"rounds": 10**400}, "rounds must be a finite number"),
        ({"time_limit_s": -(10**400)}, "time_limit_s must be a finite number"),
        ({"rounds": 2.5}, "rounds must be a whole number"),
    ]
    for body, message in cases:
        status, error = post(client, "/api/games", {"set": "synthetic", **body})
        assert (status, error["error"]) == (400, message)
    assert not Game.objects.exists() and not Player.objects.exists()


def test_a_player_of_one_game_cannot_start_see_or_guess_a_round_of_another_game(panorama_set: PanoramaSet) -> None:
    ann, bob = Client(), Client()
    _, game_a = post(ann, "/api/games", {"set": "synthetic", "rounds": 1, "name": "Ann"})
    _, game_b = post(bob, "/api/games", {"set": "synthetic", "rounds": 2, "name": "Bob"})
    _, own = post(ann, f"/api/games/{game_a['game']}/rounds/1/start", {})
    _, theirs = post(bob, f"/api/games/{game_b['game']}/rounds/1/start", {})

    status, refused = post(ann, f"/api/rounds/{theirs['round']}/guess", {"latitude": 1, "longitude": 1})
    assert (status, refused) == (403, {"error": "join this game before playing it"})
    assert ann.get(f"/api/rounds/{theirs['round']}").status_code == 403
    status, refused = post(ann, f"/api/games/{game_b['game']}/rounds/2/start", {})
    assert (status, refused) == (403, {"error": "join this game before playing it"})

    assert not Guess.objects.exists()
    assert Round.objects.get(game__public_id=game_b["game"], number=2).served_at is None, "not started by Ann"
    assert not Player.objects.filter(game__public_id=game_b["game"], name="Ann").exists()
    # Her own round is untouched and still hers to play.
    assert post(ann, f"/api/rounds/{own['round']}/guess", {"latitude": 1, "longitude": 1})[0] == 201


def test_unknown_ids_are_404_and_nothing_is_written(panorama_set: PanoramaSet) -> None:
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1})
    before = (Game.objects.count(), Player.objects.count(), Round.objects.filter(served_at__isnull=False).count())
    for method, url in [
        ("post", "/api/rounds/no-such-round/guess"),
        ("get", "/api/rounds/no-such-round"),
        ("post", "/api/games/no-such-game/join"),
        ("post", "/api/games/no-such-game/rounds/1/start"),
        ("post", f"/api/games/{game['game']}/rounds/0/start"),
    ]:
        response = getattr(client, method)(url, data={"latitude": 1, "longitude": 1}, content_type="application/json")
        assert response.status_code == 404, url
        assert response.json()["error"], url
    assert not Guess.objects.exists()
    assert (
        Game.objects.count(),
        Player.objects.count(),
        Round.objects.filter(served_at__isnull=False).count(),
    ) == before


def test_a_late_guess_through_the_api_is_locked_as_a_timeout_without_its_coordinates(panorama_set: PanoramaSet) -> None:
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1, "time_limit_s": 30})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    Round.objects.filter(public_id=view["round"]).update(deadline=timezone.now() - timedelta(minutes=1))

    status, reveal = post(client, f"/api/rounds/{view['round']}/guess", {"latitude": 48.8, "longitude": 2.3})

    assert status == 201 and reveal["human"]["timed_out"] and reveal["human"]["points"] == 0
    assert reveal["human"]["latitude"] is None and reveal["human"]["km"] is None
    guess = Guess.objects.get()
    assert guess.timed_out and (guess.latitude, guess.longitude) == (None, None)
