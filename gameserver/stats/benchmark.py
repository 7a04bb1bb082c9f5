"""Human-vs-model benchmark statistics over played rounds: PlaNet's per-radius comparison, head to head,
median errors, paired log-error ratios, per-dimension breakdowns and one Bradley–Terry rating scale.

Pure NumPy, no Django, so the stats app, its management commands and bench/stats.py share one
implementation. Everything is vectorised over rounds (10^6 rows in a few seconds) and seeded: the same
table and seed give the same JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM, within_thresholds

Z_95 = 1.959963984540054
Z_80_POWER = 0.841621
# A timeout's error is infinite; in log ratios it counts as the farthest possible miss instead.
HALF_CIRCUMFERENCE_KM = 20037.5
BREAKDOWN_DIMENSIONS = ("panorama_set", "model_version", "mode", "continent", "player")
# Paired bootstrap: rounds are pooled into this many equal-count bins of sorted differences (see
# _mean_interval); with no more rounds than bins every round is its own bin and the bootstrap is exact.
MEAN_BOOTSTRAP_BINS = 1024
# Bradley–Terry bootstrap resamples are fitted this many at a time: (chunk, players, models) arrays.
RATING_CHUNK = 100
# Error CDFs (PlaNet's Figure 3) are sampled at log-spaced distances from 100 m to half the circumference.
CDF_POINTS = 57


@dataclass(frozen=True)
class RoundTable:
    """One row per counted player-round (exclusions already applied); numpy arrays of equal length."""

    human_km: np.ndarray  # float64; np.inf where the player timed out
    model_km: np.ndarray  # float64
    human_points: np.ndarray  # float64 GeoGuessr points
    model_points: np.ndarray  # float64
    player: np.ndarray  # object array of str (player id)
    panorama_set: np.ndarray  # object str
    model_version: np.ndarray  # object str (model name)
    mode: np.ndarray  # object str
    continent: np.ndarray  # object str, the truth's continent ("" if unknown)
    human_same_country: np.ndarray  # bool: guess's country == truth's country
    model_same_country: np.ndarray
    human_same_continent: np.ndarray
    model_same_continent: np.ndarray

    def __len__(self) -> int:
        return int(len(self.human_km))


def wilson_interval(*, successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial rate; (0, 1) when there are no trials, as nothing is known."""
    if n <= 0:
        return 0.0, 1.0
    rate = successes / n
    shrink = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / shrink
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / shrink
    return max(0.0, centre - half), min(1.0, centre + half)


def sign_test_p(*, wins: int, losses: int) -> float:
    """Exact two-sided binomial test of wins vs losses at p = 0.5 (ties already dropped); 1.0 with none."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    # log P(X = k) by lgamma, then down the tail by P(X = i - 1) / P(X = i) = i / (n - i + 1): all in log
    # space, so n = 10^6 neither overflows nor underflows before the sum.
    log_peak = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    steps = np.arange(k, 0, -1, dtype=np.float64)
    log_terms = np.concatenate(([0.0], np.cumsum(np.log(steps) - np.log(n - steps + 1))))  # (k + 1,)
    tail = math.exp(log_peak) * float(np.exp(log_terms).sum())
    return min(1.0, 2 * tail)


def median_interval(*, values: np.ndarray, seed: int, resamples: int = 1000,
                    level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the median, drawn without materialising any resample.

    A resample's k-th smallest value is ordered[ceil(n U) - 1] where U, the k-th smallest of n uniforms, is
    Beta(k, n - k + 1); for even n the (k + 1)-th is U + (1 - U) Beta(1, n - k). So each resample costs two
    draws instead of n and follows the exact bootstrap distribution. Infinite values (timeouts) sort last
    and an infinite median stays infinite, never NaN.
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = ordered.size
    if n == 0:
        raise ValueError("median_interval needs at least one value")
    rng = np.random.default_rng(seed)
    k = (n + 1) // 2
    lower = rng.beta(k, n - k + 1, size=resamples)
    upper = lower if n % 2 else lower + (1 - lower) * rng.beta(1, n - k, size=resamples)
    medians = (ordered[_order_statistic_index(uniform=lower, n=n)]
               + ordered[_order_statistic_index(uniform=upper, n=n)]) / 2
    return _percentile_interval(samples=medians, level=level)


def benchmark_tables(*, table: RoundTable, seed: int = 0, resamples: int = 1000) -> dict:
    """Every benchmark table of `table` as JSON-ready plain values (None where undefined or infinite)."""
    n = len(table)
    human_km = np.asarray(table.human_km, dtype=np.float64)
    model_km = np.asarray(table.model_km, dtype=np.float64)
    human_better, model_better = human_km < model_km, model_km < human_km
    # Independent streams per table, so adding resamples to one leaves the others unchanged.
    human_seed, model_seed, paired_seed, rating_seed = (
        int(s) for s in np.random.SeedSequence(seed).generate_state(4))
    # Factorised once: the breakdowns and the ratings both group by player and model.
    labels = {dimension: _factorize(getattr(table, dimension)) for dimension in BREAKDOWN_DIMENSIONS}
    human_inside, model_inside = within_thresholds(human_km), within_thresholds(model_km)  # (N, 5) each
    human_wins = (human_inside & ~model_inside).sum(axis=0)
    model_wins = (model_inside & ~human_inside).sum(axis=0)
    thresholds = [
        {"name": name, "km": km, **_contest(human_wins=int(h), model_wins=int(m), rounds=n),
         "human_accuracy": _fraction(human_inside[:, i].sum(), n),
         "model_accuracy": _fraction(model_inside[:, i].sum(), n)}
        for i, (name, km, h, m) in enumerate(zip(THRESHOLD_NAMES, THRESHOLDS_KM, human_wins, model_wins))]
    return {
        "rounds": n,
        "thresholds": thresholds,
        "head_to_head": _contest(human_wins=int(human_better.sum()), model_wins=int(model_better.sum()), rounds=n),
        "errors": {**_median_summary(prefix="human", km=human_km, seed=human_seed, resamples=resamples),
                   **_median_summary(prefix="model", km=model_km, seed=model_seed, resamples=resamples),
                   "human_mean_points": _mean_or_none(table.human_points),
                   "model_mean_points": _mean_or_none(table.model_points)},
        "admin_levels": {name: _mean_or_none(getattr(table, name)) for name in (
            "human_same_country", "model_same_country", "human_same_continent", "model_same_continent")},
        "paired": _paired(human_km=human_km, model_km=model_km, seed=paired_seed, resamples=resamples),
        "breakdowns": _breakdowns(table=table, labels=labels, human_km=human_km, model_km=model_km,
                                  human_better=human_better, model_better=model_better),
        "ratings": _ratings(player_labels=labels["player"], model_labels=labels["model_version"],
                            human_better=human_better, model_better=model_better, seed=rating_seed,
                            resamples=resamples),
        "error_cdf": error_cdf(human_km=human_km, model_km=model_km),
    }


def error_cdf(*, human_km: np.ndarray, model_km: np.ndarray) -> dict:
    """Share of rounds with an error of at most `km`, for humans and the model, on a log-spaced km grid;
    a timeout (inf) is never within any distance. Shares are None when there are no rounds."""
    km = np.geomspace(0.1, HALF_CIRCUMFERENCE_KM, CDF_POINTS)

    def shares(errors: np.ndarray) -> list[float | None]:
        if not len(errors):
            return [None] * CDF_POINTS
        return (np.searchsorted(np.sort(errors), km, side="right") / len(errors)).tolist()

    return {"km": km.round(3).tolist(), "human": shares(human_km), "model": shares(model_km)}


def render_text(*, tables: dict) -> str:
    """One screen of plain text over every table; the player breakdown and long rating lists are cut."""
    lines = [f"PlaNet Arena benchmark: {tables['rounds']:,} rounds", "",
             f"{'radius':<10}{'km':>6}{'human':>8}{'model':>8}{'H wins':>9}{'M wins':>9}{'ties':>9}"
             f"  {'human win rate (95% CI)':<26}{'sign p':>8}"]
    for row in tables["thresholds"]:
        lines.append(f"{row['name']:<10}{row['km']:>6g}{_percent(row['human_accuracy']):>8}"
                     f"{_percent(row['model_accuracy']):>8}{row['human_wins']:>9,}{row['model_wins']:>9,}"
                     f"{row['ties']:>9,}  {_rate_text(row):<26}{row['sign_test_p']:>8.3g}")
    duel, errors, admin, paired = (tables[key] for key in ("head_to_head", "errors", "admin_levels", "paired"))
    lines += ["", f"head to head: human {duel['human_wins']:,}  model {duel['model_wins']:,}  ties {duel['ties']:,}"
                  f"  human win rate {_rate_text(duel)}  sign p {duel['sign_test_p']:.3g}"]
    for side in ("human", "model"):
        lines.append(f"{side} median error {_number(errors[f'{side}_median_km'])} km "
                     f"({_number(errors[f'{side}_median_low'])}–{_number(errors[f'{side}_median_high'])}), "
                     f"mean points {_number(errors[f'{side}_mean_points'])}, same country "
                     f"{_percent(admin[f'{side}_same_country'])}, "
                     f"same continent {_percent(admin[f'{side}_same_continent'])}")
    lines += [f"paired ln(km+1) difference {_number(paired['mean_log_ratio'], 3)} "
              f"({_number(paired['low'], 3)}–{_number(paired['high'], 3)}), ratio {_number(paired['ratio'], 3)}",
              paired["power_note"], ""]
    for dimension, groups in tables["breakdowns"].items():
        if len(groups) > 8:
            lines.append(f"{dimension}: {len(groups)} groups (in the JSON tables)")
            continue
        lines.append(f"{dimension} (rounds, human/model wins, human/model median km):")
        lines += [f"  {group['group'] or '?':<20}{group['rounds']:>10,}"
                  f"{group['human_wins']:>10,}/{group['model_wins']:<10,}"
                  f"{_number(group['human_median_km'])}/{_number(group['model_median_km'])}" for group in groups]
    ratings = tables["ratings"]
    shown = ratings[:10] + [r for r in ratings[10:] if r["kind"] == "model"]
    lines += ["", f"ratings (Elo scale, 95% CI), {len(shown)} of {len(ratings)}:"]
    lines += [f"  {r['rating']:7.1f} ({r['low']:.0f}–{r['high']:.0f})  {r['kind']:<5} {r['name']} "
              f"({r['rounds']:,} rounds)" for r in shown]
    return "\n".join(lines)


def _contest(*, human_wins: int, model_wins: int, rounds: int) -> dict:
    """Win counts, the human win rate over decided rounds with its Wilson interval, and the sign test."""
    decided = human_wins + model_wins
    low, high = wilson_interval(successes=human_wins, n=decided) if decided else (None, None)
    return {"human_wins": human_wins, "model_wins": model_wins, "ties": rounds - decided, "decided": decided,
            "human_win_rate": human_wins / decided if decided else None, "wilson_low": low, "wilson_high": high,
            "sign_test_p": sign_test_p(wins=human_wins, losses=model_wins)}


def _median_summary(*, prefix: str, km: np.ndarray, seed: int, resamples: int) -> dict:
    if km.size == 0:
        return {f"{prefix}_median_km": None, f"{prefix}_median_low": None, f"{prefix}_median_high": None}
    low, high = median_interval(values=km, seed=seed, resamples=resamples)
    return {f"{prefix}_median_km": _finite_or_none(_median_of_sorted(np.sort(km))),
            f"{prefix}_median_low": _finite_or_none(low), f"{prefix}_median_high": _finite_or_none(high)}


def _paired(*, human_km: np.ndarray, model_km: np.ndarray, seed: int, resamples: int) -> dict:
    """Mean of d = ln(human_km + 1) - ln(model_km + 1) per round, its bootstrap interval and the rounds a
    paired test would need to detect it; exp(mean) > 1 means humans miss by more."""
    d = (np.log1p(np.minimum(human_km, HALF_CIRCUMFERENCE_KM))
         - np.log1p(np.minimum(model_km, HALF_CIRCUMFERENCE_KM)))  # (N,)
    if d.size == 0:
        return {"mean_log_ratio": None, "low": None, "high": None, "ratio": None, "ratio_low": None,
                "ratio_high": None, "sd": None, "rounds_needed_80pct_power": None, "power_note": "No rounds yet."}
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if d.size > 1 else None
    low, high = _mean_interval(values=d, seed=seed, resamples=resamples)
    needed = (math.ceil(((Z_95 + Z_80_POWER) * sd / abs(mean)) ** 2) if mean != 0 and sd is not None else None)
    if needed is None:
        note = "No measurable difference between human and model errors to power a test on."
    else:
        note = (f"Humans' (km+1) errors are {math.exp(mean):.3g}x the model's (geometric mean); a paired test at "
                f"5% two-sided with 80% power needs about {needed:,} rounds to detect that; there are {d.size:,}.")
    return {"mean_log_ratio": mean, "low": low, "high": high, "ratio": math.exp(mean), "ratio_low": math.exp(low),
            "ratio_high": math.exp(high), "sd": sd, "rounds_needed_80pct_power": needed, "power_note": note}


def _mean_interval(*, values: np.ndarray, seed: int, resamples: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, fast at 10^6 rows.

    Sorted values are pooled into MEAN_BOOTSTRAP_BINS equal-count bins and bin counts are resampled with a
    multinomial: a resample costs one draw per bin instead of one per row. This drops only the spread
    inside each bin, 0.008% of the variance on bench/stats.py's 10^6 synthetic rounds, and is the exact
    bootstrap when every row is its own bin.
    """
    ordered = np.sort(values)
    n = ordered.size
    bins = min(n, MEAN_BOOTSTRAP_BINS)
    edges = np.arange(bins + 1) * n // bins
    counts = np.diff(edges)
    bin_means = np.add.reduceat(ordered, edges[:-1]) / counts  # (bins,)
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=resamples)  # (resamples, bins)
    return _percentile_interval(samples=draws @ bin_means / n, level=level)


def _breakdowns(*, table: RoundTable, labels: dict[str, tuple[list[str], np.ndarray]], human_km: np.ndarray,
                model_km: np.ndarray, human_better: np.ndarray, model_better: np.ndarray) -> dict:
    n = len(table)
    # Rank every error once; per dimension one integer sort of (group, rank) then yields each group's
    # sorted errors, so group medians cost no per-group work.
    sides = {side: _ranked(km) for side, km in (("human", human_km), ("model", model_km))}
    result = {}
    for dimension in BREAKDOWN_DIMENSIONS:
        names, codes = labels[dimension]
        groups = len(names)
        rounds = np.bincount(codes, minlength=groups)
        columns = {
            "rounds": rounds.tolist(),
            "human_wins": np.bincount(codes, weights=human_better, minlength=groups).astype(np.int64).tolist(),
            "model_wins": np.bincount(codes, weights=model_better, minlength=groups).astype(np.int64).tolist()}
        columns["ties"] = (rounds - np.array(columns["human_wins"], dtype=np.int64)
                           - np.array(columns["model_wins"], dtype=np.int64)).tolist()
        for side, (ordered, rank) in sides.items():
            key = np.sort(codes * max(n, 1) + rank)
            starts = np.cumsum(rounds) - rounds
            medians = (ordered[key[starts + (rounds - 1) // 2] % n] + ordered[key[starts + rounds // 2] % n]) / 2
            points = np.bincount(codes, weights=getattr(table, f"{side}_points"), minlength=groups) / rounds
            columns[f"{side}_median_km"] = [_finite_or_none(x) for x in medians]
            columns[f"{side}_mean_points"] = [float(x) for x in points]
        result[dimension] = [{"group": name, **{column: values[g] for column, values in columns.items()}}
                             for g, name in enumerate(names)]
    return result


def _ratings(*, player_labels: tuple[list[str], np.ndarray], model_labels: tuple[list[str], np.ndarray],
             human_better: np.ndarray, model_better: np.ndarray, seed: int, resamples: int) -> list[dict]:
    """Bradley–Terry on each round's duel (player vs that round's model, a tie half a win each) on the Elo
    scale, centred on 1500 over all players and models. Intervals use the Poisson bootstrap of rounds
    (each round drawn Poisson(1) times), which over the (player, model, outcome) cells is one Poisson
    draw per cell: independent of the row count, and ~4x cheaper than NumPy's multinomial here."""
    (players, player_codes), (models, model_codes) = player_labels, model_labels
    if not players:
        return []
    shape = (len(players), len(models), 3)  # outcome 0: human wins, 1: tie, 2: model wins
    outcome = np.where(human_better, 0, np.where(model_better, 2, 1))
    cells = np.bincount(np.ravel_multi_index((player_codes, model_codes, outcome), shape), minlength=math.prod(shape))
    point = _bradley_terry(counts=cells.reshape(1, *shape))  # (1, players + models)
    rating = _elo(point)[0]
    rng = np.random.default_rng(seed)
    samples = []
    for first in range(0, resamples, RATING_CHUNK):
        draws = rng.poisson(cells, size=(min(RATING_CHUNK, resamples - first), cells.size))
        start = np.repeat(point, len(draws), axis=0)
        samples.append(_elo(_bradley_terry(counts=draws.reshape(-1, *shape), start=start)))
    intervals = [_percentile_interval(samples=column, level=0.95) for column in np.concatenate(samples).T]
    rounds = np.concatenate([np.bincount(player_codes, minlength=len(players)),
                             np.bincount(model_codes, minlength=len(models))])
    entries = [{"name": name, "kind": kind, "rounds": int(count), "rating": float(value), "low": low, "high": high}
               for name, kind, count, value, (low, high) in zip(
                   players + models, ["human"] * len(players) + ["model"] * len(models), rounds, rating, intervals)]
    return sorted(entries, key=lambda entry: (-entry["rating"], entry["kind"], entry["name"]))


def _bradley_terry(*, counts: np.ndarray, start: np.ndarray | None = None, tolerance: float = 1e-9,
                   max_iterations: int = 100) -> np.ndarray:
    """(B, players, models, 3) outcome counts -> (B, players + models) log strengths by Newton's method.

    Each entity also plays one virtual game against a fixed strength-1 opponent, won half: a weak prior
    that keeps unbeaten and winless players finite and pins the common level (MM creeps along that level
    for thousands of iterations; Newton does not). Humans only meet models, so the Hessian's human block
    is diagonal and each step solves just a models x models system (its Schur complement). `start`
    (B, players + models) warm-starts bootstrap fits from the point estimate.
    """
    games = counts.sum(axis=3).astype(np.float64)  # (B, P, M)
    human_score = counts[..., 0] + counts[..., 1] / 2  # (B, P, M), a tie is half a win
    players = games.shape[1]
    strength = np.zeros((games.shape[0], players + games.shape[2])) if start is None else start.copy()
    human, model = strength[:, :players], strength[:, players:]  # views: the steps below update `strength`
    for _ in range(max_iterations):
        win = _sigmoid(human[:, :, None] - model[:, None, :])  # (B, P, M) chance the human wins
        weight = games * win * (1 - win)
        human_prior, model_prior = _sigmoid(human), _sigmoid(model)
        human_gradient = (human_score - games * win).sum(axis=2) + 0.5 - human_prior  # (B, P)
        model_gradient = (games * win - human_score).sum(axis=1) + 0.5 - model_prior  # (B, M)
        human_curvature = weight.sum(axis=2) + human_prior * (1 - human_prior)
        model_curvature = weight.sum(axis=1) + model_prior * (1 - model_prior)
        scaled = weight / human_curvature[:, :, None]
        schur = np.eye(model.shape[1]) * model_curvature[:, :, None] - weight.transpose(0, 2, 1) @ scaled  # (B, M, M)
        model_rhs = model_gradient + np.einsum("bpm,bp->bm", scaled, human_gradient)  # (B, M)
        model_step = np.linalg.solve(schur, model_rhs[..., None])[..., 0]
        human_step = (human_gradient + np.einsum("bpm,bm->bp", weight, model_step)) / human_curvature
        # Cap a step at a factor e in strength: far from the optimum a full step can overshoot.
        step = np.clip(np.concatenate([human_step, model_step], axis=1), -1.0, 1.0)
        strength += step
        if np.abs(step).max() < tolerance:
            break
    return strength


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(x / 2))  # tanh never overflows, unlike 1 / (1 + exp(-x))


def _elo(log_strength: np.ndarray) -> np.ndarray:
    """(B, E) natural-log strengths -> Elo points (400 per factor of ten in odds), each row averaging 1500."""
    elo = 400 / math.log(10) * log_strength
    return elo - elo.mean(axis=1, keepdims=True) + 1500


def _factorize(labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sorted distinct labels and each row's index into them.

    np.unique on an object array compares Python strings (~0.5 s a column at 10^6 rows), so rows are
    hashed (FNV-1a over their UTF-32 code units, one NumPy pass per character position), the hashes
    factorised, and the result checked against the strings; a collision falls back to np.unique.
    """
    text = np.asarray(labels).astype(str)  # (N,) fixed-width unicode
    if text.size == 0:
        return [], np.zeros(0, dtype=np.int64)
    digest = np.full(text.size, 14695981039346656037, dtype=np.uint64)
    for units in text.view(np.uint32).reshape(text.size, -1).T:  # (N,) per character position
        digest = (digest ^ units) * np.uint64(1099511628211)
    _, first, codes = np.unique(digest, return_index=True, return_inverse=True)
    if not np.array_equal(text[first][codes], text):
        names, codes = np.unique(text, return_inverse=True)
        return names.tolist(), codes
    names = text[first]
    order = np.argsort(names)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    return names[order].tolist(), position[codes]


def _ranked(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and each row's position in them."""
    order = np.argsort(values, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return values[order], rank


def _order_statistic_index(*, uniform: np.ndarray, n: int) -> np.ndarray:
    return np.clip(np.ceil(uniform * n).astype(np.int64), 1, n) - 1


def _percentile_interval(*, samples: np.ndarray, level: float) -> tuple[float, float]:
    """Outer order statistics at the two tails: no interpolation, so infinite samples give inf, not NaN."""
    ordered = np.sort(samples)
    last = ordered.size - 1
    return (float(ordered[math.floor((1 - level) / 2 * last)]), float(ordered[math.ceil((1 + level) / 2 * last)]))


def _median_of_sorted(ordered: np.ndarray) -> float:
    return float((ordered[(ordered.size - 1) // 2] + ordered[ordered.size // 2]) / 2)


def _fraction(count: int, n: int) -> float | None:
    return float(count) / n if n else None


def _mean_or_none(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if values.size else None


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _rate_text(row: dict) -> str:
    if row["human_win_rate"] is None:
        return "–"
    return f"{_percent(row['human_win_rate'])} ({_percent(row['wilson_low'])}–{_percent(row['wilson_high'])})"
