"""Synthetic players of chosen skill against the real model: for demos, load and checking the statistics.

A synthetic player's guess lies at a random bearing from the truth, at a distance drawn from a log-normal
whose median is the player's skill in km (sigma 1: a tenth of rounds within ~0.28x the median, a tenth past
~3.6x). The model plays as in a real game: the round is served and the model's guess committed before the
player's guess is locked."""

from __future__ import annotations

import math
import random

import numpy as np

from gameserver.games.models import Game
from gameserver.games.services import game_create, guess_submit, round_serve
from gameserver.inference.models import ModelVersion
from gameserver.inference.services import round_predict
from gameserver.panoramas.models import PanoramaSet
from planet_engine.geo import EARTH_RADIUS_KM

SKILL_SIGMA = 1.0


def destination(*, latitude: float, longitude: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point `km` along a great circle from (latitude, longitude) at an initial bearing."""
    phi, lam, theta = math.radians(latitude), math.radians(longitude), math.radians(bearing_deg)
    delta = km / EARTH_RADIUS_KM
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lam2 = lam + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi),
                            math.cos(delta) - math.sin(phi) * math.sin(phi2))
    return math.degrees(phi2), (math.degrees(lam2) + 540.0) % 360.0 - 180.0


def rounds_simulate(*, panorama_set: PanoramaSet, rounds: int, skills_km: list[float], seed: int = 0,
                    model_version: ModelVersion | None = None) -> list[Game]:
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
            game = game_create(panorama_set=panorama_set, owner_key=key, owner_name=f"sim-{skill:g}km-{index}",
                               rounds=count, model_version=model_version,
                               rng=random.Random(int(rng.integers(2**32))))
            for game_round in game.rounds.select_related("panorama"):
                served = round_serve(round=game_round, player_key=key)
                round_predict(round_id=served.pk)  # in line: the model commits first, as a worker would
                km = float(skill * rng.lognormal(0.0, SKILL_SIGMA))
                latitude, longitude = destination(latitude=served.panorama.latitude,
                                                  longitude=served.panorama.longitude,
                                                  bearing_deg=float(rng.uniform(0, 360)), km=min(km, 20_000.0))
                guess_submit(round=served, player_key=key, latitude=latitude, longitude=longitude)
            games.append(game)
            left -= count
    return games
