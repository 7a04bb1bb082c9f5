"""Calibration of the verified tier's anomaly model (gameserver/games/trust.py): how often it flags honest
simulated players (the false-positive rate, goal <= 1%) and how often it catches each attack, over replicated
populations of a world-wide set and a regional one.

Honest players have a wide spread of skills (median error log-uniform over 150-4000 km on the world set, 2-12
km on the regional one; log-normal rounds, sigma 1), realistic think times (log-normal, median 25 s) and 2%
timeouts. The model's errors are log-normal around 2000 km (world) or 8 km (regional). Attackers join each
population: a perceptual lookup or replayed answer (0.05-20 km off, think 15-40 s), a threshold stepper (1.5-5 km
off on the world set, just outside the fixed suspicion rules, think 12-20 s), a set-prior guesser (within 2% of
the spread of the set's centre), a sybil posting losses (random far guesses at human speed), and one letting
rounds time out. Run: `.venv/bin/python -m bench.trust [--replications N] [--json F]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
django.setup()

from gameserver.games.trust import PlayerRound, player_flags_of  # noqa: E402 (needs the apps loaded)


@dataclass(frozen=True)
class Design:
    name: str
    spread_km: float
    skill_km: tuple[float, float]  # honest players' median errors, log-uniform between
    model_km: float
    players: int
    rounds: tuple[int, ...]  # rounds per honest player, cycled (a skewed design gives a few most rounds)


DESIGNS = (
    Design("world, 30 players x 20 rounds", 3000.0, (150.0, 4000.0), 2000.0, 30, (20,)),
    Design("world, 3 players hold most rounds", 3000.0, (150.0, 4000.0), 2000.0, 12, (60, 60, 60, 5, 5, 5, 5)),
    Design("regional, 20 players x 20 rounds", 15.0, (2.0, 12.0), 8.0, 20, (20,)),
)
ATTACKS = ("lookup", "stepper", "prior_guesser", "sybil_losses", "timeouts")


def _planar(rng: np.random.Generator, spread: float, error: np.ndarray) -> np.ndarray:
    """Distances from the set prior of guesses `error` km from truths spread around it (median `spread`)."""
    truth = rng.rayleigh(spread / math.sqrt(2 * math.log(2)), error.size)
    phi, theta = rng.uniform(0, 2 * math.pi, error.size), rng.uniform(0, 2 * math.pi, error.size)
    x = truth * np.cos(phi) + error * np.cos(theta)
    y = truth * np.sin(phi) + error * np.sin(theta)
    return np.hypot(x, y)


def _player(
    rng: np.random.Generator,
    design: Design,
    name: str,
    rounds: int,
    errors: Callable[[int], np.ndarray],
    seconds: Callable[[int], np.ndarray],
    timeout_share: float = 0.02,
    prior: np.ndarray | None = None,
) -> list[PlayerRound]:
    km = np.minimum(errors(rounds), 20_000.0)
    model = np.minimum(design.model_km * rng.lognormal(0, 1, rounds), 20_000.0)
    prior_km = _planar(rng, design.spread_km, km) if prior is None else prior
    timed_out = rng.uniform(size=rounds) < timeout_share
    took = seconds(rounds)
    return [
        PlayerRound(
            player=name,
            panorama_set=1,
            km=None if timed_out[i] else float(km[i]),
            model_km=float(model[i]),
            seconds=float(took[i]),
            prior_km=None if timed_out[i] else float(prior_km[i]),
            spread_km=design.spread_km,
        )
        for i in range(rounds)
    ]


def _attacker(rng: np.random.Generator, design: Design, attack: str) -> list[PlayerRound]:
    n = 20

    def human(k: int) -> np.ndarray:
        return rng.lognormal(math.log(25), 0.6, k)

    world = design.spread_km > 100
    if attack == "lookup":
        return _player(
            rng,
            design,
            attack,
            n,
            lambda k: rng.uniform(0.05, 20.0 if world else 1.0, k),
            lambda k: rng.uniform(15, 40, k),
            0.0,
        )
    if attack == "stepper":
        return _player(
            rng,
            design,
            attack,
            n,
            lambda k: rng.uniform(1.5, 5.0 if world else 1.5, k),
            lambda k: rng.uniform(12, 20, k),
            0.0,
        )
    if attack == "prior_guesser":
        errors = _planar(rng, design.spread_km, np.zeros(n))  # at the prior: the error is the truth's distance
        return _player(
            rng, design, attack, n, lambda k: errors[:k], human, 0.0, prior=rng.uniform(0, 0.02 * design.spread_km, n)
        )
    if attack == "sybil_losses":
        far = 10000.0 if world else 60.0
        return _player(rng, design, attack, n, lambda k: rng.uniform(far, 2 * far, k), human, 0.0)
    return _player(rng, design, attack, n, lambda k: np.full(k, 1000.0), human, 1.0)


def replicate(design: Design, seed: int) -> tuple[int, int, dict[str, bool]]:
    """(honest players flagged, honest players, {attack: caught}) for one simulated population."""
    rng = np.random.default_rng(seed)
    rounds: list[PlayerRound] = []
    for index in range(design.players):
        skill = math.exp(rng.uniform(*np.log(design.skill_km)))

        def errors(k: int, s: float = skill) -> np.ndarray:
            return s * rng.lognormal(0, 1, k)

        rounds += _player(
            rng,
            design,
            f"honest-{index}",
            design.rounds[index % len(design.rounds)],
            errors,
            lambda k: rng.lognormal(math.log(25), 0.6, k),
        )
    for attack in ATTACKS:
        rounds += _attacker(rng, design, attack)
    flags = player_flags_of(rounds)
    honest = sum(1 for key in flags if key.startswith("honest-"))
    return honest, design.players, {attack: attack in flags for attack in ATTACKS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--json", default=None)
    options = parser.parse_args()
    results = {}
    print(f"{'design':<36}{'honest flagged':>16}" + "".join(f"{attack:>15}" for attack in ATTACKS))
    for design in DESIGNS:
        flagged = players = 0
        caught = dict.fromkeys(ATTACKS, 0)
        for seed in range(options.replications):
            honest, total, found = replicate(design, seed)
            flagged, players = flagged + honest, players + total
            for attack, hit in found.items():
                caught[attack] += hit
        rate = flagged / players
        results[design.name] = {
            "false_positive_rate": rate,
            "honest_players": players,
            **{f"caught_{a}": caught[a] / options.replications for a in ATTACKS},
        }
        print(
            f"{design.name:<36}{rate:>15.2%} " + "".join(f"{caught[a] / options.replications:>15.0%}" for a in ATTACKS)
        )
    if options.json:
        with open(options.json, "w") as sink:
            json.dump(results, sink, indent=2)


if __name__ == "__main__":
    main()
