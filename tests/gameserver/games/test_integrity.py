"""A counted round is one the player could not have looked up: one exploit per test, each passing on
nothing but the rule that stops it (two seats of one person, a fingerprint table of the public images, a late
join diffed against the public tables, a debug page as an oracle, others' points before lock), plus exposures
and suspicion flags."""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gameserver.games import guessing, serving
from gameserver.games.models import Exposure, Guess, Round
from gameserver.objectstore import object_read
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import panorama_image_key
from gameserver.stats.selectors import round_rows

pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Client, url: str, body: object) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def truth_of(round_id: str) -> tuple[float, float]:
    panorama = Round.objects.select_related("panorama").get(public_id=round_id).panorama
    return panorama.latitude, panorama.longitude


def test_a_second_seat_of_one_person_cannot_read_the_truth_before_the_first_seat_locks(synthetic):
    first, second = Client(), Client()  # one person, two browser sessions
    _, game = post(first, "/api/games", {"set": synthetic, "rounds": 1})
    assert post(second, f"/api/games/{game['game']}/join", {})[0] == 200
    _, view = post(first, f"/api/games/{game['game']}/rounds/1/start", {})
    status, shown = post(second, f"/api/rounds/{view['round']}/guess", {"latitude": 0.5, "longitude": 0.5})
    assert status == 201 and shown["revealed"] is False and "truth" not in shown
    assert "truth" not in second.get(f"/api/rounds/{view['round']}").json()
    # The first seat can only guess what it sees; the truth arrives for both at once, after it has locked.
    latitude, longitude = truth_of(view["round"])
    _, mine = post(first, f"/api/rounds/{view['round']}/guess", {"latitude": 10.5, "longitude": 10.5})
    assert mine["revealed"] and (mine["truth"]["latitude"], mine["truth"]["longitude"]) == (latitude, longitude)
    assert second.get(f"/api/rounds/{view['round']}").json()["revealed"] is True


def test_one_browser_holds_one_seat_even_after_signing_in(synthetic):
    owner, guest = Client(), Client()
    _, game = post(owner, "/api/games", {"set": synthetic, "rounds": 1})
    assert post(guest, f"/api/games/{game['game']}/join", {"name": "guest"})[0] == 200
    # Signing in changes the session key and the player key; the browser is still the one holding a seat.
    guest.force_login(User.objects.create_user("grace", password="pw"))
    status, refused = post(guest, f"/api/games/{game['game']}/join", {"name": "grace"})
    assert status == 400 and "one seat" in refused["error"]
    assert len(owner.get(f"/api/games/{game['game']}").json()["players"]) == 2


def test_joining_closes_at_the_first_serve_and_offers_a_fresh_game_on_the_same_set(synthetic):
    owner, late = Client(), Client()
    _, game = post(owner, "/api/games", {"set": synthetic, "rounds": 2, "mode": "nmpz", "time_limit_s": 60})
    post(owner, f"/api/games/{game['game']}/rounds/1/start", {})
    status, refused = post(late, f"/api/games/{game['game']}/join", {})
    assert status == 409 and "fresh game" in refused["error"]
    assert refused["offer"] == {
        "set": synthetic,
        "rounds": 2,
        "mode": "nmpz",
        "time_limit_s": 60,
        "model": "tiny",
        "goal": "distance",
    }
    assert post(late, "/api/games", refused["offer"])[0] == 201


@pytest.mark.parametrize("stock", [0, 2], ids=["encoded at the serve", "stocked ahead"])
def test_a_fingerprint_table_of_the_public_images_finds_no_served_round(
    synthetic_test, model_version, source, monkeypatch, settings, stock
):
    monkeypatch.setattr(serving, "_rng", random.Random(7))  # seeded: the same bytes on every run
    settings.PLANET_SERVING_STOCK = stock  # games/serving_stock.py: each stocked encoding served once
    manifest = source.manifest(
        [{"file": source.image("only.jpg", size=(320, 240), seed=3), "latitude": 48.85, "longitude": 2.35}]
    )
    panorama_set_import(manifest_path=manifest, name="one")
    panorama = Panorama.objects.get()
    # What an attacker can build offline: the public file and our stored re-encoding, by hash and by size.
    known = [(source.root / "only.jpg").read_bytes(), object_read(key=panorama_image_key(panorama=panorama))]
    hashes, sizes = {hashlib.sha256(b).hexdigest() for b in known}, {len(b) for b in known}
    served = []
    for _ in range(3):  # three games, the same panorama each time
        client = Client()
        _, game = post(client, "/api/games", {"set": "one", "rounds": 1})
        _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
        assert panorama.public_id not in view["image_url"]
        response = client.get(view["image_url"])
        assert "Content-Disposition" not in response and panorama.public_id not in str(response.items())
        body = response.getvalue()
        assert hashlib.sha256(body).hexdigest() == Round.objects.get(public_id=view["round"]).view_sha256
        served.append(body)
    assert not {hashlib.sha256(b).hexdigest() for b in served} & hashes
    assert not {len(b) for b in served} & sizes
    assert len({hashlib.sha256(b).hexdigest() for b in served}) == 3 and len({len(b) for b in served}) == 3


def test_a_late_join_or_a_guess_in_an_unfinished_game_changes_no_public_number(synthetic):
    owner, newcomer = Client(), Client()
    _, game = post(owner, "/api/games", {"set": synthetic, "rounds": 1})
    _, view = post(owner, f"/api/games/{game['game']}/rounds/1/start", {})
    post(owner, f"/api/rounds/{view['round']}/guess", {"latitude": 1.5, "longitude": 1.5})
    before = newcomer.get("/api/stats/benchmark?tier=open").json()
    assert before["player_rounds"] == 1 and before["open"] == {"rounds": 0, "games": 0}
    assert post(newcomer, f"/api/games/{game['game']}/join", {})[0] == 409
    assert newcomer.get("/api/stats/benchmark?tier=open").json() == before
    # An unfinished game: one of its two rounds locked. Nothing of it enters the tables yet; the serve shows
    # as one open round (a count, no result), and the guess changes nothing at all.
    _, other = post(owner, "/api/games", {"set": synthetic, "rounds": 2})
    _, first = post(owner, f"/api/games/{other['game']}/rounds/1/start", {})
    served = newcomer.get("/api/stats/benchmark?tier=open").json()
    assert served == {**before, "open": {"rounds": 1, "games": 1}}
    post(owner, f"/api/rounds/{first['round']}/guess", {"latitude": 2.5, "longitude": 2.5})
    assert newcomer.get("/api/stats/benchmark?tier=open").json() == served
    _, second = post(owner, f"/api/games/{other['game']}/rounds/2/start", {})
    post(owner, f"/api/rounds/{second['round']}/guess", {"latitude": 3.5, "longitude": 3.5})
    # The game finished: both at once.
    assert newcomer.get("/api/stats/benchmark?tier=open").json()["player_rounds"] == 3


def test_a_guess_that_fails_inside_the_server_answers_json_with_no_distance(synthetic, settings, monkeypatch):
    settings.DEBUG = True  # even in debug, the API shows no traceback or local variable

    def broken(**kwargs: object) -> str:
        raise RuntimeError(f"failed after scoring {kwargs}")

    monkeypatch.setattr(guessing, "guess_suspicion", broken)
    client = Client(raise_request_exception=False)
    _, game = post(client, "/api/games", {"set": synthetic, "rounds": 1})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    response = client.post(
        f"/api/rounds/{view['round']}/guess",
        data=json.dumps({"latitude": 1, "longitude": 2}),
        content_type="application/json",
    )
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": "internal server error"}
    assert not Guess.objects.exists()


def test_the_room_shows_who_has_guessed_but_no_points_before_the_round_is_revealed(synthetic):
    ann, bob = Client(), Client()
    _, game = post(ann, "/api/games", {"set": synthetic, "rounds": 1, "name": "Ann"})
    post(bob, f"/api/games/{game['game']}/join", {"name": "Bob"})
    _, view = post(ann, f"/api/games/{game['game']}/rounds/1/start", {})
    post(bob, f"/api/rounds/{view['round']}/guess", {"latitude": 1.5, "longitude": 1.5})
    seen_by_ann = ann.get(f"/api/games/{game['game']}").json()
    assert seen_by_ann["rounds"][0]["guessed"] == 1 and seen_by_ann["rounds"][0]["revealed"] is False
    assert {p["name"]: (p["total_points"], p["rounds_played"]) for p in seen_by_ann["players"]} == {
        "Ann": (0, 0),
        "Bob": (0, 0),
    }
    assert bob.get(f"/api/games/{game['game']}").json()["rounds"][0]["points"] is None  # not even his own
    post(ann, f"/api/rounds/{view['round']}/guess", {"latitude": 2.5, "longitude": 2.5})
    after = ann.get(f"/api/games/{game['game']}").json()
    assert after["rounds"][0]["revealed"] and all(p["rounds_played"] == 1 for p in after["players"])
    assert after["rounds"][0]["points"] is not None


def test_a_panorama_seen_before_is_not_drawn_again_while_others_remain_and_is_excluded_when_it_is(
    source, model_version
):
    manifest = source.manifest(
        [{"file": source.image(f"{i}.jpg", seed=i), "latitude": 10.0 * i, "longitude": 5.0} for i in range(3)]
    )
    panorama_set_import(manifest_path=manifest, name="three")
    player = Client()

    def play(rounds: int) -> list[str]:
        _, game = post(player, "/api/games", {"set": "three", "rounds": rounds})
        for n in range(1, rounds + 1):
            _, view = post(player, f"/api/games/{game['game']}/rounds/{n}/start", {})
            post(player, f"/api/rounds/{view['round']}/guess", {"latitude": 45.5, "longitude": 45.5})
        return list(Round.objects.filter(game__public_id=game["game"]).values_list("panorama__public_id", flat=True))

    first, second = play(2), play(1)
    assert not set(first) & set(second)  # the unseen third was drawn
    assert Exposure.objects.count() == 3
    third = play(2)  # all three seen: a repeat is unavoidable, and is excluded as seen before
    rows = [row for row in round_rows() if row["panorama_id"] in third and row["round_number"] in (1, 2)][-2:]
    assert all(row["seen_before"] and row["exclusion"] == "seen_before" and not row["counted"] for row in rows)


def test_a_near_exact_guess_within_seconds_is_flagged_and_left_out_unless_asked(synthetic):
    client = Client()
    _, game = post(client, "/api/games", {"set": synthetic, "rounds": 1})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    latitude, longitude = truth_of(view["round"])
    post(client, f"/api/rounds/{view['round']}/guess", {"latitude": latitude, "longitude": longitude + 0.0001})
    assert Guess.objects.get().suspicion == "exact_and_fast"
    default = client.get("/api/stats/benchmark?tier=open").json()
    assert default["rounds"] == 0 and default["excluded"] == {"suspicious": 1}
    included = client.get("/api/stats/benchmark?tier=open&suspicious=include").json()
    assert included["rounds"] == 1 and included["suspicious_included"] is True
    staff = User.objects.create_superuser("root", password="pw")
    admin = Client()
    admin.force_login(staff)
    listing = admin.get("/admin/games/flaggedguess/")
    assert listing.status_code == 200 and b"exact_and_fast" in listing.content


def test_a_run_of_near_exact_guesses_is_flagged():
    from gameserver.games.rules import guess_suspicion

    assert guess_suspicion(km=0.5, seconds=60, recent_exact=2) == "run_of_exact"
    assert guess_suspicion(km=0.5, seconds=60, recent_exact=1) == ""
    assert guess_suspicion(km=5.0, seconds=60, recent_exact=4) == ""
    assert guess_suspicion(km=0.05, seconds=3, recent_exact=0) == "exact_and_fast"
    assert guess_suspicion(km=0.05, seconds=30, recent_exact=0) == ""
    assert guess_suspicion(km=None, seconds=1, recent_exact=4) == ""


def test_reading_a_round_writes_nothing_the_exposure_is_recorded_when_the_guess_locks(synthetic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    player = Client()
    _, game = post(player, "/api/games", {"set": synthetic, "rounds": 1})
    _, view = post(player, f"/api/games/{game['game']}/rounds/1/start", {})
    status, shown = post(player, f"/api/rounds/{view['round']}/guess", {"latitude": 1.5, "longitude": 1.5})
    assert status == 201 and shown["revealed"]
    assert Exposure.objects.filter(round__public_id=view["round"]).count() == 1  # the lock recorded it
    with CaptureQueriesContext(connection) as queries:
        again = player.get(f"/api/rounds/{view['round']}")
        player.get(f"/api/games/{game['game']}")
    assert again.status_code == 200 and again.json()["revealed"]
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
