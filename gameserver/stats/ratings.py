"""One Bradley–Terry rating scale for players and models, fitted on each round's duel. Pure NumPy, no Django.

- A proper prior: every model's strength is Normal(0, PRIOR_SD_ELO²) around the anchor's, every player's
  Normal(humans' mean, PRIOR_SD_ELO²), so the fit is the
  posterior mode (ridge-penalised Bradley–Terry; a Gaussian prior as in Glickman 1999, where Caron & Doucet
  2012 use a gamma one). A perfect record stays finite and a long one outweighs a short one: 59 wins of 68
  rate above 3 of 3. The humans' mean is the strength of all human rounds pooled as one player (fitted first,
  with the models' prior): a short record is pulled towards the humans, not towards the model.
- An anchor: one model sits at ANCHOR_ELO and is not fitted, so players joining never move it. Which one is one
  rule for the page, the API and `benchmark_report` (selectors.rating_anchor: the default model when the rows
  were read, recorded in every export row's `rating_anchor`).
- Connectivity: a player or model not linked to the anchor by any chain of rounds has no rating on the anchor's
  scale (only its prior places it): it is listed apart (`connected` false) and not ranked.
- Ranks: each connected entry's rank (1 best) with a 95% interval from the bootstrap refits, each refit's
  strengths widened by the posterior's noise where the posterior is the wider (so ranks agree with the
  ratings' intervals).
- Intervals: rating ± 1.96 sd with sd the larger of the cluster bootstrap's (RATING_RESAMPLES refits) and the
  posterior's (Laplace: the inverse Hessian at the mode). The bootstrap redraws panoramas (the pigeonhole's
  panorama weights) and keeps the players: a rating is about the player who played, and weighing a player's whole
  record by one draw
  (zero a third of the time) would measure the player's absence, not their skill. The bootstrap carries the
  dependence between rounds; the posterior what few rounds cannot show (3 wins of 3 never resample a loss).
- Fewer than PROVISIONAL_ROUNDS rounds: provisional.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gameserver.stats.bootstrap import Pigeonhole
from gameserver.stats.intervals import Z_95

ANCHOR_ELO = 1500.0
PRIOR_SD_ELO = 200.0
PROVISIONAL_ROUNDS = 10
ELO_PER_LOG_ODDS = 400 / math.log(10)
# The interval takes the bootstrap's standard deviation, not its percentiles, and 25-200 resamples give a
# standard error (Efron & Tibshirani 1993, §6.4): refits stop at this many of the pigeonhole's resamples.
RATING_RESAMPLES = 200
# Bootstrap resamples are fitted this many at a time: (chunk, players, models) arrays.
RATING_CHUNK = 100


def ratings(
    *,
    player_labels: tuple[list[str], np.ndarray],
    model_labels: tuple[list[str], np.ndarray],
    human_better: np.ndarray,
    model_better: np.ndarray,
    anchor_model: str | None,
    boot: Pigeonhole,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One entry per player and model (a tie is half a win each), best first, and the scale's settings
    (anchor, anchor_rating, prior_sd_elo, humans_prior_mean, provisional_below_rounds). The anchor is
    `anchor_model` when it played, else the model with the most rounds."""
    (players, player_codes), (models, model_codes) = player_labels, model_labels
    info: dict[str, Any] = {
        "anchor": None,
        "anchor_rating": ANCHOR_ELO,
        "prior_sd_elo": PRIOR_SD_ELO,
        "humans_prior_mean": None,
        "provisional_below_rounds": PROVISIONAL_ROUNDS,
    }
    if not players:
        return [], info
    rounds = np.concatenate(
        [np.bincount(player_codes, minlength=len(players)), np.bincount(model_codes, minlength=len(models))]
    )
    model_rounds = rounds[len(players) :]
    anchor = (
        models.index(anchor_model)
        if anchor_model in models
        else int(np.lexsort((np.arange(len(models)), -model_rounds))[0])
    )
    outcome = np.where(human_better, 0, np.where(model_better, 2, 1))  # 0 human wins, 1 tie, 2 model wins
    cells = (player_codes * len(models) + model_codes) * 3 + outcome
    shape = (len(players), len(models), 3)
    counts = np.bincount(cells, minlength=math.prod(shape)).reshape(1, *shape).astype(np.float64)
    # The humans pooled as one player: their mean strength, the centre of each player's prior.
    pooled, _ = _fit(counts=counts.sum(axis=1, keepdims=True), anchor=anchor)
    human_mean = float(pooled[0, 0])
    point, posterior_sd = _fit(counts=counts, anchor=anchor, with_posterior_sd=True, human_mean=human_mean)
    samples = _elo(
        np.concatenate(
            list(
                _bootstrap_fits(cells=cells, shape=shape, boot=boot, anchor=anchor, start=point, human_mean=human_mean)
            )
        )
    )
    rating = _elo(point)[0]
    boot_sd, posterior = samples.std(axis=0), ELO_PER_LOG_ODDS * posterior_sd[0]
    half = Z_95 * np.maximum(boot_sd, posterior)
    half[len(players) + anchor] = 0.0
    connected = _connected(games=counts[0].sum(axis=2), anchor=anchor)
    widened = samples + (
        np.sqrt(np.maximum(posterior**2 - boot_sd**2, 0.0)) * np.random.default_rng(0).standard_normal(samples.shape)
    )
    widened[:, len(players) + anchor] = ANCHOR_ELO
    ranks = _ranks(point=rating, samples=widened, connected=connected)
    kinds = ["human"] * len(players) + ["model"] * len(models)
    entries: list[dict[str, Any]] = [
        {
            "name": name,
            "kind": kind,
            "rounds": int(count),
            "rating": float(value),
            "low": float(value - width),
            "high": float(value + width),
            "provisional": bool(count < PROVISIONAL_ROUNDS) and i != len(players) + anchor,
            "anchor": i == len(players) + anchor,
            "connected": bool(connected[i]),
            **ranks[i],
        }
        for i, (name, kind, count, value, width) in enumerate(
            zip(players + models, kinds, rounds, rating, half, strict=True)
        )
    ]
    info["anchor"] = models[anchor]
    info["humans_prior_mean"] = float(_elo(np.array([human_mean]))[0])
    # Connected entries ranked, best first; the unconnected after them, apart.
    return sorted(
        entries, key=lambda entry: (not entry["connected"], -entry["rating"], entry["kind"], entry["name"])
    ), info


def _connected(*, games: np.ndarray, anchor: int) -> np.ndarray:
    """(P + M,) bool: linked to the anchor model by a chain of rounds (`games`: (P, M) rounds per pair)."""
    played = games > 0
    models: np.ndarray = np.zeros(played.shape[1], dtype=bool)
    models[anchor] = True
    players: np.ndarray = np.zeros(played.shape[0], dtype=bool)
    while True:
        players_now = np.asarray(played[:, models].any(axis=1))
        models_now = models | np.asarray(played[players_now].any(axis=0))
        if (players_now == players).all() and (models_now == models).all():
            return np.concatenate([players, models])
        players, models = players_now, models_now


def _ranks(*, point: np.ndarray, samples: np.ndarray, connected: np.ndarray) -> list[dict[str, int | None]]:
    """Each entry's rank among the connected (1 best) at the point estimate and its 95% interval over `samples`
    (B, E); None for an unconnected entry."""
    columns = np.flatnonzero(connected)

    def rank(values: np.ndarray) -> np.ndarray:  # (..., C) -> (..., C) by a double argsort: no (C, C) arrays
        return 1 + np.argsort(np.argsort(-values, axis=-1, kind="stable"), axis=-1, kind="stable")

    result: list[dict[str, int | None]] = [
        {"rank": None, "rank_low": None, "rank_high": None} for _ in range(point.size)
    ]
    if not columns.size:
        return result
    at_point = rank(point[columns])
    drawn = rank(samples[:, columns]) if samples.size else at_point[None, :]
    low, high = np.percentile(drawn, [2.5, 97.5], axis=0, method="inverted_cdf")
    for j, column in enumerate(columns):
        result[column] = {"rank": int(at_point[j]), "rank_low": int(low[j]), "rank_high": int(high[j])}
    return result


def player_rating_path(
    *,
    model_elo: np.ndarray,
    score: np.ndarray,
    ends: list[int],
    human_mean_elo: float,
    tolerance: float = 1e-9,
    max_iterations: int = 100,
) -> list[float]:
    """One player's rating on the scale of `ratings` after each prefix of their rounds: for each end in `ends`,
    the posterior mode of their strength on rounds [0, end) with every model held at `model_elo` (the models'
    current ratings, one per round: (N,) Elo) and the same Normal prior, centred on `human_mean_elo` (the
    tables' ratings_info humans_prior_mean). `score`: (N,) 1 won, 0.5 tie, 0 lost.

    Humans meet only models, so given the models a player's strength is a one-dimensional fit; at the full
    record it is the player's rating in `ratings` (the joint mode satisfies the same equation)."""
    precision = (ELO_PER_LOG_ODDS / PRIOR_SD_ELO) ** 2
    model = (np.asarray(model_elo, dtype=np.float64) - ANCHOR_ELO) / ELO_PER_LOG_ODDS  # (N,) log strengths
    taken = np.arange(len(model))[None, :] < np.asarray(ends)[:, None]  # (E, N): round in the prefix
    mean = (human_mean_elo - ANCHOR_ELO) / ELO_PER_LOG_ODDS
    human = np.full(len(ends), mean)  # (E,)
    for _ in range(max_iterations):
        win = _sigmoid(human[:, None] - model[None, :])  # (E, N)
        gradient = (taken * (score[None, :] - win)).sum(axis=1) - precision * (human - mean)
        curvature = (taken * win * (1 - win)).sum(axis=1) + precision
        step = np.clip(gradient / curvature, -1.0, 1.0)
        human += step
        if not len(step) or np.abs(step).max() < tolerance:
            break
    return [float(value) for value in _elo(human)]


def _bootstrap_fits(
    *,
    cells: np.ndarray,
    shape: tuple[int, int, int],
    boot: Pigeonhole,
    anchor: int,
    start: np.ndarray,
    human_mean: float,
) -> list[np.ndarray]:
    """Refit on each resample of panoramas: a (player, model, outcome) cell weighs the sum of its rounds'
    panorama-group weights, one (B, Gp) x (Gp, cells) product."""
    size = math.prod(shape)
    by_panorama = np.bincount(boot.panorama_group * size + cells, minlength=boot.panorama_groups * size).reshape(
        boot.panorama_groups, size
    )
    fits = []
    for first in range(0, min(boot.resamples, RATING_RESAMPLES), RATING_CHUNK):
        chunk = slice(first, min(first + RATING_CHUNK, RATING_RESAMPLES))
        counts = (boot.panorama_weights[chunk] @ by_panorama).reshape(-1, *shape)
        # 1e-6 log-odds is 0.0002 Elo: enough for a resample, and a Newton step fewer than the point's 1e-9.
        fits.append(
            _fit(
                counts=counts,
                anchor=anchor,
                start=np.repeat(start, counts.shape[0], axis=0),
                tolerance=1e-6,
                human_mean=human_mean,
            )[0]
        )
    return fits


def _fit(
    *,
    counts: np.ndarray,
    anchor: int,
    start: np.ndarray | None = None,
    with_posterior_sd: bool = False,
    tolerance: float = 1e-9,
    max_iterations: int = 100,
    human_mean: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(B, players, models, 3) outcome counts -> ((B, players + models) posterior-mode log strengths, the
    posterior sd of each for the first fit, or zeros), by Newton's method with the anchor fixed at 0 and each
    player's prior centred on `human_mean` (log strength).

    Humans only meet models, so the Hessian's human block is diagonal and each step solves only a
    models x models system (its Schur complement); the anchor's row and column are replaced by the identity
    with a zero right-hand side, so its step is 0. `start` warm-starts bootstrap fits from the point estimate.
    """
    precision = (ELO_PER_LOG_ODDS / PRIOR_SD_ELO) ** 2  # prior 1 / sd² in log-odds units
    games = counts.sum(axis=3)  # (B, P, M)
    human_score = counts[..., 0] + counts[..., 1] / 2  # (B, P, M), a tie is half a win
    players, models = games.shape[1], games.shape[2]
    strength = np.zeros((games.shape[0], players + models)) if start is None else start.copy()
    if start is None:
        strength[:, :players] = human_mean
    human, model = strength[:, :players], strength[:, players:]  # views: the steps below update `strength`
    free = np.ones(models)
    free[anchor] = 0.0
    for _ in range(max_iterations):
        weight, schur, human_curvature, human_gradient, model_gradient = _newton_terms(
            games=games,
            human_score=human_score,
            human=human,
            model=model,
            precision=precision,
            free=free,
            human_mean=human_mean,
        )
        scaled = weight / human_curvature[:, :, None]
        model_rhs = (model_gradient + np.einsum("bpm,bp->bm", scaled, human_gradient)) * free  # (B, M)
        model_step = np.linalg.solve(schur, model_rhs[..., None])[..., 0]
        human_step = (human_gradient + np.einsum("bpm,bm->bp", weight, model_step)) / human_curvature
        # Cap a step at a factor e in strength: far from the optimum a full step can overshoot.
        step = np.clip(np.concatenate([human_step, model_step], axis=1), -1.0, 1.0)
        strength += step
        if np.abs(step).max() < tolerance:
            break
    if not with_posterior_sd:
        return strength, np.zeros_like(strength)
    weight, schur, human_curvature, _, _ = _newton_terms(
        games=games,
        human_score=human_score,
        human=human,
        model=model,
        precision=precision,
        free=free,
        human_mean=human_mean,
    )
    # Inverse Hessian's diagonal by blocks: models S^-1; a human 1/h + (w/h)' S^-1 (w/h).
    inverse = np.linalg.inv(schur[0]) * np.outer(free, free)
    coupling = (weight[0] * free) / human_curvature[0][:, None]  # (P, M)
    human_variance = 1 / human_curvature[0] + np.einsum("pm,mk,pk->p", coupling, inverse, coupling)
    return strength, np.sqrt(np.concatenate([human_variance, np.diag(inverse)]))[None, :]


def _newton_terms(
    *,
    games: np.ndarray,
    human_score: np.ndarray,
    human: np.ndarray,
    model: np.ndarray,
    precision: float,
    free: np.ndarray,
    human_mean: float,
) -> tuple[np.ndarray, ...]:
    """Duel weights (B, P, M), the Schur complement (B, M, M) with the anchor's row and column set to the
    identity, human curvatures (B, P) and the log posterior's gradients (B, P) and (B, M)."""
    win = _sigmoid(human[:, :, None] - model[:, None, :])  # (B, P, M) chance the human wins
    weight = games * win * (1 - win)
    human_gradient = (human_score - games * win).sum(axis=2) - precision * (human - human_mean)
    model_gradient = (games * win - human_score).sum(axis=1) - precision * model
    human_curvature = weight.sum(axis=2) + precision
    model_curvature = weight.sum(axis=1) + precision
    coupled = weight * free  # the anchor is not a parameter: no coupling to it
    schur = np.eye(len(free)) * model_curvature[:, :, None] - coupled.transpose(0, 2, 1) @ (
        coupled / human_curvature[:, :, None]
    )
    schur = schur * np.outer(free, free) + np.diag(1 - free)
    return weight, schur, human_curvature, human_gradient, model_gradient


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(x / 2))  # tanh never overflows, unlike 1 / (1 + exp(-x))


def _elo(log_strength: np.ndarray) -> np.ndarray:
    """(B, E) natural-log strengths relative to the anchor -> Elo points (400 per factor of ten in odds)."""
    return ELO_PER_LOG_ODDS * log_strength + ANCHOR_ELO
