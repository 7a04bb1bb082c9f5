"""The verified tier, attacked as a determined cheater would (through the API, as a browser does): a perceptual
match of the served photo against the public set, answers harvested by throwaway identities and replayed under
fresh ones, one fixed guess at a set's centre, sybils posting losses, a threshold stepper. None of their rounds
reaches the verified tier, and each that lands in the open tier says why. Honest players with established
accounts, on a private set, stay verified.

Think times are set by moving a round's serve back (a human looks before guessing; an instant guess is no
effort's). Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL."""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import imagehash
import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from PIL import Image

from gameserver.games.models import Exposure, Guess, Round
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.selectors import benchmark_from_rows, player_id, round_rows
from gameserver.stats.simulation import destination
from planet_engine.geo import distance_km
from planet_engine.manifest import read_manifest

pytestmark = pytest.mark.django_db(transaction=True)
Guesser = Callable[[Round], tuple[float, float] | None]  # None: let the round time out


@pytest.fixture(autouse=True)
def room_to_play(settings, model_version) -> None:
    """Every client here shares one address: allowances sized for a population, and accounts established from
    their first round unless a test sets the bar."""
    settings.RATE_LIMITS = {scope: "100000/60" for scope in settings.RATE_LIMITS}
    settings.PLANET_VERIFIED_MIN_ROUNDS = settings.PLANET_VERIFIED_MIN_DAYS = 0


def post(client: Client, url: str, body: object) -> dict:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def account(name: str) -> Client:
    client = Client()
    client.force_login(User.objects.create_user(name, password="correct horse battery 42"))
    return client


def key_of(client: Client) -> str:
    """The player key the server gives this client (views.player_key)."""
    session = client.session
    return f"user:{session['_auth_user_id']}" if "_auth_user_id" in session else f"guest:{session.session_key}"


def play(client: Client, set_name: str, rounds: int, guess: Guesser, think_s: Callable[[], float]) -> list[str]:
    """One game of `rounds` rounds: each served, looked at for think_s() seconds, then guessed (or let time out)."""
    game = post(client, "/api/games", {"set": set_name, "rounds": rounds})["game"]
    played = []
    for number in range(1, rounds + 1):
        view = post(client, f"/api/games/{game}/rounds/{number}/start", {})
        Round.objects.filter(public_id=view["round"]).update(served_at=timezone.now() - timedelta(seconds=think_s()))
        game_round = Round.objects.select_related("panorama").get(public_id=view["round"])
        point = guess(game_round)
        body = {"timed_out": True} if point is None else {"latitude": point[0], "longitude": point[1]}
        post(client, f"/api/rounds/{view['round']}/guess", body)
        played.append(view["round"])
    return played


def rows_of(keys: list[str]) -> list[dict]:
    ids = {player_id(key) for key in keys}
    return [row for row in round_rows() if row["player_id"] in ids]


def near(rng: random.Random, low_km: float, high_km: float) -> Guesser:
    """A guess low-high km from the truth (a looked-up answer, moved so as not to look exact)."""

    def guess(game_round: Round) -> tuple[float, float]:
        return destination(
            latitude=game_round.panorama.latitude,
            longitude=game_round.panorama.longitude,
            bearing_deg=rng.uniform(0, 360),
            km=rng.uniform(low_km, high_km),
        )

    return guess


def honest(rng: random.Random, skill_km: float, timeouts: float = 0.02) -> Guesser:
    def guess(game_round: Round) -> tuple[float, float] | None:
        if rng.random() < timeouts:
            return None
        km = min(skill_km * math.exp(rng.gauss(0.0, 1.0)), 19_000.0)
        return destination(
            latitude=game_round.panorama.latitude,
            longitude=game_round.panorama.longitude,
            bearing_deg=rng.uniform(0, 360),
            km=km,
        )

    return guess


def human_pace(rng: random.Random) -> Callable[[], float]:
    return lambda: rng.lognormvariate(math.log(25), 0.5)


def private_set(manifest: Path, name: str = "private") -> str:
    panorama_set_import(manifest_path=manifest, name=name, private=True)
    return name


def assert_open_because(rows: list[dict], reason: str) -> None:
    assert rows and all(row["tier"] == "excluded" or reason in row["tier_reasons"].split(";") for row in rows), [
        (row["tier"], row["tier_reasons"], row["exclusion"]) for row in rows
    ]
    assert not [row for row in rows if row["tier"] == "verified"]


def test_a_perceptual_match_against_the_public_set_finds_every_truth_but_no_verified_round(
    datasets, tmp_path, model_version
):
    """osv5m-demo's photos are published: a pHash of each served view finds its source, every time."""
    folder = tmp_path / "osv5m-part"
    folder.mkdir()
    (folder / "images").symlink_to(datasets / "osv5m-demo" / "images")
    lines = (datasets / "osv5m-demo" / "manifest.csv").read_text().splitlines()
    (folder / "manifest.csv").write_text("\n".join(lines[:13]) + "\n")  # 12 real photos
    panorama_set_import(manifest_path=folder / "manifest.csv", name="osv5m-demo")
    public = [
        (imagehash.phash(Image.open(row.path)), row.latitude, row.longitude)
        for row in read_manifest(folder / "manifest.csv").rows
    ]

    cheat, rng = account("cheat"), random.Random(1)
    misses = []

    def looked_up(game_round: Round) -> tuple[float, float]:
        served = imagehash.phash(
            Image.open(io.BytesIO(cheat.get(f"/api/rounds/{game_round.public_id}/image").getvalue()))
        )
        _, latitude, longitude = min(public, key=lambda item: item[0] - served)
        misses.append(distance_km(latitude, longitude, game_round.panorama.latitude, game_round.panorama.longitude))
        return destination(
            latitude=latitude, longitude=longitude, bearing_deg=rng.uniform(0, 360), km=rng.uniform(2, 15)
        )

    play(cheat, "osv5m-demo", 10, looked_up, lambda: rng.uniform(15, 40))
    assert max(misses) < 1.0  # the lookup works: each served photo matched its published source
    rows = rows_of([key_of(cheat)])
    assert len(rows) == 10 and all(row["counted"] for row in rows)  # the open tier keeps them, labelled
    assert_open_because(rows, "public_set")


def test_answers_harvested_by_throwaway_guests_and_replayed_are_never_verified(synthetic_test):
    """Guests at one address let rounds time out to read every truth of a private set; a fresh cookie jar there
    has still seen them, and an account replaying them plays panoramas revealed to unverified identities."""
    name = private_set(synthetic_test)
    size = PanoramaSet.objects.get(name=name).panoramas.count()
    harvested: dict[int, tuple[float, float]] = {}
    for _ in range(50):  # each fresh jar is drawn what the address has not been shown first
        for round_id in play(Client(), name, 5, lambda _: None, lambda: 60.0):
            panorama = Round.objects.get(public_id=round_id).panorama
            harvested[panorama.pk] = (panorama.latitude, panorama.longitude)
        if len(harvested) == size:
            break
    assert len(harvested) == size

    rng = random.Random(2)

    def replay(game_round: Round) -> tuple[float, float]:
        latitude, longitude = harvested[game_round.panorama_id]
        return destination(
            latitude=latitude, longitude=longitude, bearing_deg=rng.uniform(0, 360), km=rng.uniform(2, 15)
        )

    fresh_jar, replayer = Client(), account("replayer")
    play(fresh_jar, name, 5, replay, human_pace(rng))
    play(replayer, name, 10, replay, human_pace(rng))
    jar_rows = rows_of([key_of(fresh_jar)])
    assert {row["exclusion"] for row in jar_rows} == {"seen_before"}  # the address had seen each of them
    assert_open_because(rows_of([key_of(replayer)]), "exposed_to_unverified")


def test_answers_harvested_by_accounts_letting_rounds_time_out_are_never_verified(synthetic_test, settings):
    """No public data needed: established accounts harvest by letting rounds time out (no effort, flagged), and
    what they were shown leaves the verified pool."""
    settings.PLANET_VERIFIED_MIN_ROUNDS = 10
    name = private_set(synthetic_test)
    panorama_set_import(manifest_path=synthetic_test, name="warm-up")
    rng = random.Random(3)
    harvesters = [account(f"harvester{i}") for i in range(2)]
    replayer = account("replayer")
    for client in (*harvesters, replayer):  # an established history first, played honestly elsewhere
        play(client, "warm-up", 10, honest(rng, 800.0, timeouts=0.0), human_pace(rng))
    harvested = {}
    for client in harvesters:
        for round_id in play(client, name, 10, lambda _: None, lambda: 60.0):
            panorama = Round.objects.get(public_id=round_id).panorama
            harvested[panorama.pk] = (panorama.latitude, panorama.longitude)

    guessing = honest(rng, 1000.0, timeouts=0.0)

    def replay(game_round: Round) -> tuple[float, float] | None:
        if game_round.panorama_id not in harvested:
            return guessing(game_round)  # no answer to replay: a round played as anyone would
        latitude, longitude = harvested[game_round.panorama_id]
        return destination(
            latitude=latitude, longitude=longitude, bearing_deg=rng.uniform(0, 360), km=rng.uniform(2, 15)
        )

    play(replayer, name, 10, replay, human_pace(rng))
    harvester_rows = [row for row in rows_of([key_of(c) for c in harvesters]) if row["panorama_set"] == name]
    assert all("no_effort" in row["player_flags"] for row in harvester_rows)
    spoiled = set(
        PanoramaSet.objects.get(name=name).panoramas.filter(pk__in=harvested).values_list("public_id", flat=True)
    )
    replayed = [row for row in rows_of([key_of(replayer)]) if row["panorama_id"] in spoiled]
    assert replayed and not [row for row in replayed if row["tier"] == "verified"]
    assert all(
        set(row["tier_reasons"].split(";")) & {"exposed_to_unverified", "flagged_player"}
        for row in replayed
        if row["tier"] == "open"
    )


def test_one_fixed_guess_at_a_regional_sets_centre_is_never_verified_and_its_radii_are_not_reported(
    source, model_version
):
    """A set within ~10 km of one place: the set prior scores near-full points without a look. A player who
    always guesses it is flagged, and the radii where the prior is inside in most rounds are not reported."""
    rng = np.random.default_rng(4)
    rows = [
        {
            "file": source.image(f"p{i}.jpg", seed=i),
            "latitude": 44.80 + rng.uniform(-0.07, 0.07),
            "longitude": -0.60 + rng.uniform(-0.09, 0.09),
        }
        for i in range(24)
    ]
    name = private_set(source.manifest(rows), "commune")
    panorama_set = PanoramaSet.objects.get(name=name)
    assert panorama_set.spread_km is not None and panorama_set.spread_km < 10
    pace = random.Random(5)
    players = [account(f"local{i}") for i in range(3)]
    for i, client in enumerate(players):
        play(client, name, 12, honest(pace, 1.0 + 2 * i, timeouts=0.0), human_pace(pace))
    centre = account("centre")
    prior_latitude, prior_longitude = panorama_set.prior_latitude, panorama_set.prior_longitude
    assert prior_latitude is not None and prior_longitude is not None
    play(centre, name, 12, lambda _: (prior_latitude, prior_longitude), human_pace(pace))
    assert_open_because(rows_of([key_of(centre)]), "flagged_player")
    assert all("no_effort" in row["player_flags"] for row in rows_of([key_of(centre)]))
    honest_rows = rows_of([key_of(client) for client in players])
    assert sum(row["tier"] == "verified" for row in honest_rows) >= 0.9 * len(honest_rows)
    tables = benchmark_from_rows(rows=round_rows(), tier="verified")
    assert isinstance(tables["thresholds"], list) and isinstance(tables["planet_table"], list)
    withheld = {row["name"]: row for row in tables["thresholds"] if row["reported"] is False}
    assert {"city", "region", "country", "continent"} <= set(withheld)
    assert all(row["human_wins"] is None and row["cluster_p"] is None for row in withheld.values())
    assert any(row["kind"] == "baseline" for row in tables["planet_table"])


def test_sybils_posting_losses_never_reach_the_verified_tier(synthetic_test):
    """Throwaway sessions post instant timeouts and antipodal guesses: guests, never verified; an established
    account doing the same is flagged for no effort."""
    name = private_set(synthetic_test)
    rng = random.Random(6)

    def antipode(game_round: Round) -> tuple[float, float]:
        return -game_round.panorama.latitude, (game_round.panorama.longitude + 360.0) % 360.0 - 180.0

    sybils = [Client() for _ in range(4)]
    for i, client in enumerate(sybils):
        play(client, name, 5, (lambda _: None) if i % 2 else antipode, lambda: rng.uniform(0.2, 1.5))
    assert_open_because(rows_of([key_of(client) for client in sybils]), "guest")
    loser = account("loser")
    play(loser, name, 6, lambda _: None, lambda: 0.5)
    play(loser, name, 6, antipode, human_pace(rng))
    assert_open_because(rows_of([key_of(loser)]), "flagged_player")


def test_honest_players_stay_verified_and_a_threshold_stepper_among_them_does_not(synthetic_test):
    """A private set, established accounts with a spread of skills and human think times: at least 99% of
    their rounds are verified. A looked-up answer moved just outside the fixed suspicion rules (over 1 km off,
    over 10 s) is still far beyond what the population does on the same set: flagged."""
    name = private_set(synthetic_test)
    rng = random.Random(7)
    players = [account(f"honest{i}") for i in range(8)]
    for i, client in enumerate(players):
        play(client, name, 10, honest(rng, 250.0 * 1.4**i), human_pace(rng))
    stepper = account("stepper")
    play(stepper, name, 12, near(rng, 1.2, 4.0), lambda: rng.uniform(11, 20))
    honest_rows = rows_of([key_of(client) for client in players])
    verified = sum(row["tier"] == "verified" for row in honest_rows)
    assert len(honest_rows) == 80 and verified >= 0.99 * len(honest_rows), [
        (row["tier_reasons"], row["player_flags"]) for row in honest_rows if row["tier"] != "verified"
    ]
    assert_open_because(rows_of([key_of(stepper)]), "flagged_player")
    assert all("too_good" in row["player_flags"] for row in rows_of([key_of(stepper)]))


def test_the_reveal_tells_no_one_they_were_caught(synthetic_test):
    """The anomaly flags and the suspicion stay out of the reveal: a flagged player's reveal reads as any other's
    with the same public reasons (the admin and the export have them)."""
    name = private_set(synthetic_test)
    other = private_set(synthetic_test, "other")
    loser = account("loser")
    play(loser, name, 10, lambda _: None, lambda: 0.5)
    game = post(loser, "/api/games", {"set": other, "rounds": 1})["game"]
    view = post(loser, f"/api/games/{game}/rounds/1/start", {})
    Round.objects.filter(public_id=view["round"]).update(served_at=timezone.now() - timedelta(seconds=30))
    shown = post(loser, f"/api/rounds/{view['round']}/guess", {"latitude": 1.0, "longitude": 2.0})
    assert "flagged_player" not in shown["tier_reasons"] and shown["counted"] is True
    row = next(row for row in rows_of([key_of(loser)]) if row["round_id"] == view["round"])
    assert "flagged_player" in row["tier_reasons"].split(";")


def shift_back(*, days: float) -> None:
    """Everything played so far happened `days` earlier."""
    delta = timedelta(days=days)
    for model, fields in ((Round, ("served_at",)), (Guess, ("guessed_at",)), (Exposure, ("revealed_at",))):
        for row in model.objects.all():
            for field in fields:
                if getattr(row, field) is not None:
                    setattr(row, field, getattr(row, field) - delta)
            row.save(update_fields=list(fields))


def test_an_account_is_verified_only_after_its_history_and_a_guest_never(synthetic_test, settings):
    """PLANET_VERIFIED_MIN_ROUNDS locked guesses on PLANET_VERIFIED_MIN_DAYS earlier days: a fresh account's
    rounds are open (account_not_established) until then; a guest's are open whatever it played."""
    settings.PLANET_VERIFIED_MIN_ROUNDS, settings.PLANET_VERIFIED_MIN_DAYS = 4, 1
    name, elsewhere = private_set(synthetic_test), private_set(synthetic_test, "elsewhere")
    rng = random.Random(9)
    newcomer, guest = account("newcomer"), Client()
    play(newcomer, name, 4, honest(rng, 500.0, timeouts=0.0), human_pace(rng))
    play(guest, elsewhere, 4, honest(rng, 500.0, timeouts=0.0), human_pace(rng))
    shift_back(days=1)  # a day later, the same account comes back
    play(newcomer, name, 2, honest(rng, 500.0, timeouts=0.0), human_pace(rng))
    tiers = [(row["tier"], row["tier_reasons"]) for row in rows_of([key_of(newcomer)])]
    assert tiers == [("open", "account_not_established")] * 4 + [("verified", "")] * 2
    assert {row["tier_reasons"] for row in rows_of([key_of(guest)])} == {"guest"}


def test_a_panorama_revealed_to_more_identities_than_its_budget_leaves_the_verified_pool(source):
    rows = [{"file": source.image(f"p{i}.jpg", seed=i), "latitude": 10.0 * i, "longitude": 20.0 * i} for i in range(5)]
    name = private_set(source.manifest(rows), "small")
    PanoramaSet.objects.filter(name=name).update(exposure_budget=1)
    rng = random.Random(10)
    players = [account(f"p{i}") for i in range(3)]
    for client in players:
        play(client, name, 5, honest(rng, 500.0, timeouts=0.0), human_pace(rng))
    reasons = [{row["tier_reasons"] for row in rows_of([key_of(client)])} for client in players]
    assert reasons == [{""}, {""}, {"exposure_budget_spent"}]  # the third saw each after two others had
