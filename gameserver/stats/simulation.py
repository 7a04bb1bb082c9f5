"""Synthetic players of chosen skill against the real model: for demos, load and checking the statistics.

A synthetic player's guess lies at a random bearing from the truth, at a distance drawn from a log-normal
whose median is the player's skill in km (sigma 1: a tenth of rounds within ~0.28x the median, a tenth past
~3.6x). The model plays as in a real game: the round is served and the model's guess committed before the
player's guess is locked."""

from __future__ import annotations

import math
import random

import numpy as np

from gameserver.games.guessing import guess_submit
from gameserver.games.model_guess import round_predict
from gameserver.games.models import Game
from gameserver.games.services import game_create, round_serve
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import PanoramaSet
from gameserver.stats.frames import Frame
from planet_engine.countries import country_index
from planet_engine.geo import EARTH_RADIUS_KM, distances_km, geoscore

SKILL_SIGMA = 1.0


def destinations(
    *, latitude: np.ndarray, longitude: np.ndarray, bearing_deg: np.ndarray, km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) points `km` along great circles from (latitude, longitude) at initial bearings; arrays broadcast."""
    phi, lam, theta = np.radians(latitude), np.radians(longitude), np.radians(bearing_deg)
    delta = np.asarray(km, dtype=np.float64) / EARTH_RADIUS_KM
    phi2 = np.arcsin(np.clip(np.sin(phi) * np.cos(delta) + np.cos(phi) * np.sin(delta) * np.cos(theta), -1, 1))
    lam2 = lam + np.arctan2(np.sin(theta) * np.sin(delta) * np.cos(phi), np.cos(delta) - np.sin(phi) * np.sin(phi2))
    return np.degrees(phi2), (np.degrees(lam2) + 540.0) % 360.0 - 180.0


def destination(*, latitude: float, longitude: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point `km` along a great circle from (latitude, longitude) at an initial bearing."""
    lat, lon = destinations(
        latitude=np.array([latitude]),
        longitude=np.array([longitude]),
        bearing_deg=np.array([bearing_deg]),
        km=np.array([km]),
    )
    return float(lat[0]), float(lon[0])


def rounds_simulate(
    *,
    panorama_set: PanoramaSet,
    rounds: int,
    skills_km: list[float],
    seed: int = 0,
    model_version: ModelVersion | None = None,
) -> list[Game]:
    """Each skill plays `rounds` rounds (in games of at most the set's size) against the model; returns the games."""
    if rounds < 1 or not skills_km or any(not (skill > 0 and math.isfinite(skill)) for skill in skills_km):
        raise ValueError("rounds must be >= 1 and every skill a positive number of km")
    rng = np.random.default_rng(seed)
    size = panorama_set.panoramas.count()
    games = []
    for index, skill in enumerate(skills_km):
        key, left = f"sim:{seed}:{index}", rounds
        while left > 0:
            count = min(left, size, 50)
            game = game_create(
                panorama_set=panorama_set,
                owner_key=key,
                owner_name=f"sim-{skill:g}km-{index}",
                rounds=count,
                model_version=model_version,
                rng=random.Random(int(rng.integers(2**32))),
            )
            for game_round in game.rounds.select_related("panorama"):
                served = round_serve(round=game_round, player_key=key)
                round_predict(round_id=served.pk)  # in line: the model commits first, as a worker would
                km = float(skill * rng.lognormal(0.0, SKILL_SIGMA))
                latitude, longitude = destination(
                    latitude=served.panorama.latitude,
                    longitude=served.panorama.longitude,
                    bearing_deg=float(rng.uniform(0, 360)),
                    km=min(km, 20_000.0),
                )
                guess_submit(round=served, player_key=key, latitude=latitude, longitude=longitude)
            games.append(game)
            left -= count
    return games


def rounds_simulate_vectorised(
    *,
    panorama_set: PanoramaSet,
    rounds: int,
    skills_km: list[float],
    seed: int = 0,
    model_version: ModelVersion | None = None,
) -> Frame:
    """The statistics of `rounds` simulated rounds per skill, drawn in NumPy, never stored (10^6 rows in
    seconds): the model answers each panorama of one real game (up to 50 of the set's, played as
    rounds_simulate plays, so its guesses are the real ones), then every simulated round draws a panorama of
    that pool and a player's guess around its truth. Returns report.Frame columns for benchmark_of_frame. A
    player may meet a panorama more than once here (the pool is small): fine for the tables' arithmetic and speed,
    not a model of seen-before rounds."""
    if rounds < 1 or not skills_km or any(not (skill > 0 and math.isfinite(skill)) for skill in skills_km):
        raise ValueError("rounds must be >= 1 and every skill a positive number of km")
    (game,) = rounds_simulate(
        panorama_set=panorama_set,
        rounds=min(panorama_set.panoramas.count(), 50),
        skills_km=[skills_km[0]],
        seed=seed,
        model_version=model_version,
    )
    pool = list(game.rounds.select_related("panorama").order_by("number"))
    truth = np.array([(r.panorama.latitude, r.panorama.longitude) for r in pool], dtype=np.float64)  # (P, 2)
    model = np.array([(r.model_latitude, r.model_longitude) for r in pool], dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = rounds * len(skills_km)
    player = np.repeat(np.arange(len(skills_km)), rounds)  # (N,)
    panorama = rng.integers(0, len(pool), n)
    km = np.minimum(np.array(skills_km)[player] * rng.lognormal(0.0, SKILL_SIGMA, n), 20_000.0)
    guess_lat, guess_lon = destinations(
        latitude=truth[panorama, 0], longitude=truth[panorama, 1], bearing_deg=rng.uniform(0, 360, n), km=km
    )
    human_km = distances_km(truth[panorama, 0], truth[panorama, 1], guess_lat, guess_lon)
    model_km = distances_km(truth[:, 0], truth[:, 1], model[:, 0], model[:, 1])  # (P,)
    index = country_index()

    def places(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = index.lookup_many(lat, lon)
        return (
            np.array([p.country or "" for p in found], dtype=object),
            np.array([p.continent or "" for p in found], dtype=object),
        )

    truth_country, truth_continent = places(truth[:, 0], truth[:, 1])
    model_country, model_continent = places(model[:, 0], model[:, 1])
    human_country, human_continent = places(guess_lat, guess_lon)
    names = np.array([f"sim-{skill:g}km-{i}" for i, skill in enumerate(skills_km)], dtype=object)
    ids = np.array([r.panorama.public_id for r in pool], dtype=object)
    frame: Frame = {
        "human_km": human_km,
        "model_km": model_km[panorama],
        "human_points": geoscore(human_km),
        "model_points": geoscore(model_km)[panorama],
        "counted": np.ones(n, dtype=bool),
        "guess_missing": np.zeros(n, dtype=bool),
        "player_id": names[player],
        "player_name": names[player],
        "panorama_id": ids[panorama],
        "panorama_set": np.full(n, panorama_set.name, dtype=object),
        "model_name": np.full(n, game.model_version.name, dtype=object),
        "model_view": np.full(n, "", dtype=object),
        "mode": np.full(n, game.mode, dtype=object),
        "truth_country": truth_country[panorama],
        "truth_continent": truth_continent[panorama],
        "human_country": human_country,
        "human_continent": human_continent,
        "model_country": model_country[panorama],
        "model_continent": model_continent[panorama],
        "exclusion": np.full(n, "", dtype=object),
        "tier": np.full(n, "open", dtype=object),
        "tier_reasons": np.full(n, "", dtype=object),
        "rating_anchor": np.full(n, game.model_version.name, dtype=object),
    }
    return frame
