"""How many rounds, and over how many distinct panoramas, the closer-guess test needs for 80% power against
an effect fixed in advance (a 55% human win rate, near PlaNet's 28 of 50 against humans), not one read off the
data: power at the observed effect only restates the p-value (Hoenig & Heisey 2001).

Independent duels need n0 = ((z_{α/2} sqrt(p0 q0) + z_β sqrt(p1 q1)) / (p1 - p0))² decided rounds; rounds that
share panoramas and players need n0 times the design effect (Kish 1965), at this design's rounds per panorama
and per player. With m duels per panorama Kish's design effect is 1 + (m - 1) ρ, so n0 (1 + (m - 1) ρ) / m
panoramas are needed, which falls to n0 ρ however often each panorama is played: more plays of the same
panoramas cannot replace new ones. Pure Python and NumPy, no Django.
"""

from __future__ import annotations

import math

from gameserver.stats.clusters import RateDesign, TwoWay
from gameserver.stats.intervals import Z_95

TARGET_WIN_RATE = 0.55
Z_80_POWER = 0.841621


def decided_needed_independent(*, target: float = TARGET_WIN_RATE) -> int:
    """Decided independent duels for a two-sided 5% one-sample test of 50% to have 80% power at `target`."""
    return math.ceil(((Z_95 * 0.5 + Z_80_POWER * math.sqrt(target * (1 - target))) / (target - 0.5)) ** 2)


def power_plan(*, rounds: int, panoramas: int, players: int, duel: RateDesign, sizes: TwoWay) -> dict:
    """`duel`: rate_design of the human win among decided rounds (its design effect, and the panorama term of
    its two-way variance); `sizes`: two_way of a score of 1 on each decided round (its panorama term is the sum
    of squared panorama sizes, for Kish's size-weighted mean cluster size)."""
    independent = decided_needed_independent()
    plan: dict = {
        "target_win_rate": TARGET_WIN_RATE,
        "alpha": 0.05,
        "power": 0.8,
        "decided_needed_independent": independent,
        "design_effect": None,
        "rounds_needed": None,
        "panoramas_needed": None,
        "players_needed": None,
        "panoramas_at_least": None,
        "panorama_correlation": None,
    }
    decided = float(duel.counts[0])
    effect = float(duel.effect[0, 0])
    if not decided or not math.isfinite(effect):
        plan["note"] = (
            "Too few decided rounds, or a single panorama and player, to measure a design effect: "
            f"independent duels would need {independent:,} decided rounds for 80% power at a "
            f"{TARGET_WIN_RATE:.0%} human win rate."
        )
        return plan
    per_panorama, per_player = rounds / panoramas, rounds / players
    needed = math.ceil(independent * effect * rounds / decided)
    plan.update(
        design_effect=effect,
        rounds_needed=needed,
        panoramas_needed=math.ceil(needed / per_panorama),
        players_needed=math.ceil(needed / per_player),
    )
    mean_size = float(sizes.panorama[0, 0] / sizes.squares[0, 0])  # Kish's size-weighted mean: sum n_p² / n
    if mean_size > 1 and duel.terms.squares[0, 0] > 0:  # a win rate of 0 or 1 has no correlation to measure
        panorama_effect = float(duel.terms.panorama[0, 0] / duel.terms.squares[0, 0])  # one-way, panoramas only
        correlation = (panorama_effect - 1) / (mean_size - 1)
        plan["panorama_correlation"] = correlation
        if correlation > 0:
            plan["panoramas_at_least"] = math.ceil(independent * min(correlation, 1.0))
    floor = (
        f" However often each is played, no fewer than {plan['panoramas_at_least']:,} distinct panoramas will "
        f"do (intraclass correlation {plan['panorama_correlation']:.2f} between a panorama's duels)."
        if plan["panoramas_at_least"]
        else ""
    )
    plan["note"] = (
        f"A two-sided 5% test of the closer guess has 80% power against a {TARGET_WIN_RATE:.0%} human win rate "
        f"(an effect fixed in advance, not taken from these rounds) with about {needed:,} rounds over "
        f"{plan['panoramas_needed']:,} distinct panoramas and {plan['players_needed']:,} players, at this design's "
        f"{per_panorama:.1f} rounds per panorama and {per_player:.1f} per player (design effect {effect:.2f}; "
        f"independent duels would need {independent:,} decided rounds). There are {rounds:,} rounds over "
        f"{panoramas:,} panoramas.{floor}"
    )
    return plan
