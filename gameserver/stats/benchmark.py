"""Human-vs-model benchmark statistics over played rounds: PlaNet's per-radius comparison and table, head to
head, right country and continent, median errors, paired log-error ratios, power, per-dimension breakdowns and
one Bradley–Terry rating scale.

Rounds are not independent duels: they share panoramas (the model's error on a panorama is the same every time)
and players. Totals and rates get the two-way cluster-robust variance (clusters.py), medians the two-way
cluster bootstrap (bootstrap.py), ratings a prior, an anchor and a bootstrap over panoramas (ratings.py);
the naive sign test and Wilson interval stay beside them. The modules: intervals.py (intervals and tests),
outcomes.py (duels, PlaNet's table), breakdowns.py, power.py; render.py prints the text report.

Pure NumPy, no Django, so the stats app, its management commands and bench/stats.py share one
implementation. Everything is vectorised over rounds (10^6 rows in a few seconds) and seeded: the same
table, seed and anchor give the same JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gameserver.stats.bootstrap import pigeonhole
from gameserver.stats.breakdowns import breakdown
from gameserver.stats.cluster_intervals import mean_interval
from gameserver.stats.clusters import Clusters, clusters_of, effective_players, rate_design, two_way
from gameserver.stats.estimands import accuracy_differences, headline_family, win_rate_estimands
from gameserver.stats.outcomes import ADMIN_NOTE, admin_outcomes, contest, median_note, median_summary, planet_table
from gameserver.stats.power import power_plan
from gameserver.stats.ratings import ratings
from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM, within_thresholds

# A timeout's error is infinite; in log ratios it counts as the farthest possible miss instead.
HALF_CIRCUMFERENCE_KM = 20037.5
BREAKDOWN_DIMENSIONS = ("panorama_set", "model_version", "mode", "continent", "country", "player")
# Error CDFs (PlaNet's Figure 3) are sampled at log-spaced distances from 100 m to half the circumference.
CDF_POINTS = 57


@dataclass(frozen=True, kw_only=True)
class RoundTable:
    """One row per counted player-round (exclusions already applied); numpy arrays of equal length. A text field
    may be None where `labels` holds it factorised (a Parquet export's codes: no object array per row)."""

    human_km: np.ndarray  # float64; np.inf where the player timed out
    model_km: np.ndarray  # float64
    human_points: np.ndarray  # float64 GeoGuessr points
    model_points: np.ndarray  # float64
    player: np.ndarray | None = None  # object array of str (player id)
    panorama: np.ndarray | None = None  # object str (panorama id): the cluster rounds share with other players
    panorama_set: np.ndarray | None = None  # object str
    model_version: np.ndarray | None = None  # object str (model name)
    mode: np.ndarray | None = None  # object str
    continent: np.ndarray | None = None  # object str, the truth's continent ("" if unknown)
    country: np.ndarray | None = None  # object str, the truth's ISO alpha-2 country ("" if unknown)
    human_same_country: np.ndarray  # bool: guess's country == truth's country
    model_same_country: np.ndarray
    human_same_continent: np.ndarray
    model_same_continent: np.ndarray
    # float64 km from the set prior (a fixed guess at the set's geometric median) to the truth; inf unknown.
    set_prior_km: np.ndarray | None = None
    # Text fields already factorised, by field name: (sorted distinct texts, each row's index), as _factorize
    # gives them (report.codes_of, from a Parquet export's dictionary codes); the others are factorised here.
    labels: dict[str, tuple[list[str], np.ndarray]] | None = None
    # Per side ("human", "model"): the errors sorted and the rows in that order, where the caller sorted them
    # once for several tables (report.table_of_frame: both tiers from one sort); else sorted here.
    ranked: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def __len__(self) -> int:
        return int(len(self.human_km))

    def factorised(self, field: str) -> tuple[list[str], np.ndarray]:
        """Text field `field`'s sorted distinct texts and each row's index into them (from `labels` where given)."""
        if self.labels and field in self.labels:
            return self.labels[field]
        texts = getattr(self, field)
        if texts is None:
            raise ValueError(f"RoundTable.{field} is None and not in labels")
        return _factorize(texts)


def benchmark_tables(
    *, table: RoundTable, seed: int = 0, resamples: int = 1000, anchor_model: str | None = None
) -> dict:
    """Every benchmark table of `table` as JSON-ready plain values (None where undefined or infinite).
    `anchor_model`: the model whose rating is fixed (the default model); None: the one with the most rounds."""
    n = len(table)
    human_km = np.asarray(table.human_km, dtype=np.float64)
    model_km = np.asarray(table.model_km, dtype=np.float64)
    human_better, model_better = human_km < model_km, model_km < human_km
    # Factorised once: breakdowns, clusters and ratings all group by them.
    labels = {dimension: table.factorised(dimension) for dimension in (*BREAKDOWN_DIMENSIONS, "panorama")}
    clusters = clusters_of(
        panorama=labels["panorama"][1],
        player=labels["player"][1],
        panoramas=len(labels["panorama"][0]),
        players=len(labels["player"][0]),
    )
    boot = pigeonhole(clusters=clusters, seed=seed, resamples=resamples)
    sides = table.ranked or {side: _ranked(km) for side, km in (("human", human_km), ("model", model_km))}
    orders = {side: order for side, (_, order) in sides.items()}
    # The humans' errors resample panoramas and players; the model's panoramas only (its guess ignores the player).
    resampled = {"human": (boot.cell_weights(), boot.row_cell()), "model": (boot.panorama_weights, boot.panorama_group)}
    # The humans' median gets an interval only from MEDIAN_MIN_PLAYERS effective players up; the model's is
    # clustered by panorama alone.
    players = {"human": effective_players(labels["player"][1]), "model": None}
    medians = {
        side: median_summary(
            ordered=ordered, ordered_cell=resampled[side][1][order], weights=resampled[side][0], players=players[side]
        )
        for side, (ordered, order) in sides.items()
    }
    model_names, model_codes = labels["model_version"]
    for code, name in enumerate(model_names):
        rows = orders["model"][model_codes[orders["model"]] == code]  # this model's rows, in error order
        medians[name] = (
            medians["model"]
            if len(model_names) == 1
            else median_summary(
                ordered=model_km[rows], ordered_cell=boot.panorama_group[rows], weights=boot.panorama_weights
            )
        )
    human_inside, model_inside = within_thresholds(human_km), within_thresholds(model_km)  # (N, 5) each
    prior_km = np.full(n, np.inf) if table.set_prior_km is None else np.asarray(table.set_prior_km, dtype=np.float64)
    prior_inside = within_thresholds(prior_km)
    thresholds = [
        {
            "name": name,
            "km": km,
            **contest(
                human_win=human_inside[:, i] & ~model_inside[:, i],
                model_win=model_inside[:, i] & ~human_inside[:, i],
                clusters=clusters,
            ),
            "human_accuracy": _fraction(human_inside[:, i].sum(), n),
            "model_accuracy": _fraction(model_inside[:, i].sum(), n),
            "set_prior_accuracy": _fraction(prior_inside[:, i].sum(), n),
            # A fixed guess at the set's centre, made without looking, is inside this radius in most
            # rounds: a win here says nothing of geolocation skill.
            "set_prior_wins_most": bool(n and prior_inside[:, i].sum() * 2 > n),
        }
        for i, (name, km) in enumerate(zip(THRESHOLD_NAMES, THRESHOLDS_KM, strict=True))
    ]
    right = {
        f"{side}_{level}": np.asarray(getattr(table, f"{side}_same_{level}"), dtype=bool)
        for side in ("human", "model")
        for level in ("country", "continent")
    }
    known = {level: _nonempty(labels[level]) for level in ("country", "continent")}
    rating_entries, rating_info = ratings(
        player_labels=labels["player"],
        model_labels=labels["model_version"],
        human_better=human_better,
        model_better=model_better,
        anchor_model=anchor_model,
        boot=boot,
    )
    head_to_head = contest(human_win=human_better, model_win=model_better, clusters=clusters)
    tables = {
        "rounds": n,
        "design": _design(
            clusters=clusters,
            resamples=resamples,
            panorama_groups=boot.panorama_groups,
            player_groups=boot.player_groups,
        ),
        "thresholds": thresholds,
        "head_to_head": head_to_head,
        "estimands": win_rate_estimands(
            head_to_head=head_to_head,
            human_better=human_better,
            model_better=model_better,
            player=clusters.player,
            players=clusters.players,
        ),
        "accuracy_differences": accuracy_differences(
            human_inside=human_inside, model_inside=model_inside, clusters=clusters
        ),
        "timeout_sensitivity": timeout_sensitivity(
            human_km=human_km,
            human_better=human_better,
            model_better=model_better,
            clusters=clusters,
            as_losses=head_to_head,
        ),
        "admin_outcomes": admin_outcomes(
            human_right={level: right[f"human_{level}"] for level in known},
            model_right={level: right[f"model_{level}"] for level in known},
            known=known,
            clusters=clusters,
        ),
        "admin_note": ADMIN_NOTE,
        "planet_table": planet_table(
            human_inside=human_inside,
            model_inside=model_inside,
            models=labels["model_version"],
            medians=medians,
            clusters=clusters,
            prior_km=prior_km,
        ),
        "errors": {
            **{
                f"{side}_median_{part}": value
                for side in ("human", "model")
                for part, value in zip(("km", "low", "high"), medians[side], strict=True)
            },
            "human_median_note": median_note(medians["human"]),
            "human_mean_points": _mean_or_none(table.human_points),
            "model_mean_points": _mean_or_none(table.model_points),
        },
        "paired": _paired(human_km=human_km, model_km=model_km, clusters=clusters),
        "power": _power(human_better=human_better, model_better=model_better, clusters=clusters),
        "breakdowns": {
            dimension: breakdown(
                labels=labels[dimension],
                sides=sides,
                points={"human": table.human_points, "model": table.model_points},
                human_better=human_better,
                model_better=model_better,
                right=right,
                known=known,
                clusters=clusters,
            )
            for dimension in BREAKDOWN_DIMENSIONS
        },
        "ratings": rating_entries,
        "ratings_info": rating_info,
        "error_cdf": error_cdf(human_km=sides["human"][0], model_km=sides["model"][0]),  # sorted: sorts fast
    }
    headline_family(tables)
    return tables


def timeout_sensitivity(
    *, human_km: np.ndarray, human_better: np.ndarray, model_better: np.ndarray, clusters: Clusters, as_losses: dict
) -> dict:
    """The closer guess with timeouts as losses (the headline: a player who sent nothing lost that duel) beside
    the same with timed-out rounds left out: if the two disagree, the conclusion depends on why players ran out
    of time. `as_losses`: the headline's contest."""
    answered = np.isfinite(human_km)
    excluded = contest(
        human_win=human_better & answered,
        model_win=model_better & answered,
        clusters=clusters,
        rounds=int(answered.sum()),
    )
    keys = ("human_wins", "model_wins", "decided", "human_win_rate", "low", "high", "cluster_p", "verdict")
    return {
        "timeouts": int((~answered).sum()),
        "as_losses": {key: value for key, value in as_losses.items() if key in keys},
        "excluded": {key: value for key, value in excluded.items() if key in keys},
    }


def error_cdf(*, human_km: np.ndarray, model_km: np.ndarray) -> dict:
    """Share of rounds with an error of at most `km`, for humans and the model, on a log-spaced km grid;
    a timeout (inf) is never within any distance. Shares are None when there are no rounds."""
    km = np.geomspace(0.1, HALF_CIRCUMFERENCE_KM, CDF_POINTS)

    def shares(errors: np.ndarray) -> list[float | None]:
        if not len(errors):
            return [None] * CDF_POINTS
        ordered = errors if (errors[1:] >= errors[:-1]).all() else np.sort(errors)  # the tables pass them sorted
        return (np.searchsorted(ordered, km, side="right") / len(errors)).tolist()

    return {"km": km.round(3).tolist(), "human": shares(human_km), "model": shares(model_km)}


def _design(*, clusters: Clusters, resamples: int, panorama_groups: int, player_groups: int) -> dict:
    """How clustered the rounds are, and how the bootstrap pooled them."""
    n = clusters.panorama.size
    busiest = int(np.bincount(clusters.player).max()) if n else 0
    return {
        "rounds": n,
        "panoramas": clusters.panoramas,
        "players": clusters.players,
        "rounds_per_panorama": n / clusters.panoramas if clusters.panoramas else None,
        "rounds_per_player": n / clusters.players if clusters.players else None,
        "busiest_player_share": busiest / n if n else None,
        "bootstrap": {"resamples": resamples, "panorama_groups": panorama_groups, "player_groups": player_groups},
    }


def _paired(*, human_km: np.ndarray, model_km: np.ndarray, clusters: Clusters) -> dict:
    """Mean of d = ln(human_km + 1) - ln(model_km + 1) per round with its two-way cluster-robust interval;
    exp(mean) > 1 means humans miss by more (the (km+1) errors' geometric mean ratio)."""
    d = np.log1p(np.minimum(human_km, HALF_CIRCUMFERENCE_KM)) - np.log1p(
        np.minimum(model_km, HALF_CIRCUMFERENCE_KM)
    )  # (N,)
    summary = mean_interval(values=d, members=np.ones(d.size, dtype=bool), clusters=clusters)

    def ratio(value: float | None) -> float | None:
        return None if value is None else math.exp(value)

    return {
        "mean_log_ratio": summary["mean"],
        "low": summary["low"],
        "high": summary["high"],
        "ratio": ratio(summary["mean"]),
        "ratio_low": ratio(summary["low"]),
        "ratio_high": ratio(summary["high"]),
        "sd": summary["sd"],
        "design_effect": summary["design_effect"],
    }


def _power(*, human_better: np.ndarray, model_better: np.ndarray, clusters: Clusters) -> dict:
    decided = human_better != model_better
    return power_plan(
        rounds=int(decided.size),
        panoramas=clusters.panoramas,
        players=clusters.players,
        duel=rate_design(hits=human_better, members=decided, clusters=clusters),
        sizes=two_way(scores=np.ones(decided.size), members=decided, clusters=clusters),
    )


def _factorize(labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sorted distinct labels and each row's index into them. Rows are grouped by object identity first (one
    C-level pass of id() and an integer sort: a column read from Parquet by dictionary encoding, or built from a
    few names, shares one object per distinct value), then objects with equal text are merged; np.unique on the
    object array itself compares Python strings and takes several times longer at 10^6 rows."""
    if not len(labels):
        return [], np.zeros(0, dtype=np.int64)
    identities = np.fromiter(map(id, labels), dtype=np.int64, count=len(labels))
    _, first, inverse = np.unique(identities, return_index=True, return_inverse=True)
    texts = [str(labels[row]) for row in first]  # one per distinct object
    names = sorted(set(texts))
    position = {name: i for i, name in enumerate(names)}
    return names, np.array([position[text] for text in texts], dtype=np.int64)[inverse]


def _nonempty(labels: tuple[list[str], np.ndarray]) -> np.ndarray:
    """(N,) bool: the row's label is not "" (the truth's country or continent is known)."""
    names, codes = labels
    return codes != names.index("") if "" in names else np.ones(codes.size, dtype=bool)


def _ranked(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the rows in that order (ties in any order: every use reads values at ranks)."""
    order = np.argsort(values)
    return values[order], order


def _fraction(count: int, n: int) -> float | None:
    return float(count) / n if n else None


def _mean_or_none(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if values.size else None
