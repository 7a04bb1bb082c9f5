"""Every benchmark table from export rows held as columns (a Frame: one NumPy array per column the tables read),
whatever the rows came from: the live rows (frame_of_rows), a CSV or JSON lines export read back, or a Parquet
export read column by column (frame_of_parquet: 10^6 rows in about a second, never a Python dict per row).
Pure NumPy and pyarrow, no Django: the stats page, the API and `benchmark_report` all end here."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from gameserver.stats.benchmark import RoundTable, benchmark_tables
from gameserver.stats.estimands import headline_family
from gameserver.stats.tiers import TIERS, withhold_if_prior_wins

Row = dict[str, object]
Frame = dict[str, np.ndarray]

FLOATS = ("human_km", "model_km", "human_points", "model_points", "set_prior_km")
FLAGS = ("counted", "guess_missing")
TEXTS = ("player_id", "player_name", "panorama_id", "panorama_set", "model_name", "model_view", "mode",
         "truth_continent", "truth_country", "human_country", "model_country", "human_continent", "model_continent",
         "exclusion", "tier", "tier_reasons", "rating_anchor")
# Columns a report reads; an older export may lack the optional ones.
READ = (*FLOATS, *FLAGS, *TEXTS)
OPTIONAL = frozenset({"set_prior_km", "guess_missing", "model_view", "tier", "tier_reasons", "rating_anchor"})


def _truthy(values: np.ndarray) -> np.ndarray:
    if values.dtype == bool:
        return values
    return np.array([value is True or str(value).strip().lower() in ("true", "1") for value in values], dtype=bool)


def frame_of_rows(rows: list[Row]) -> Frame:
    """The columns a report reads, from row dicts (None and "" as missing; CSV text parsed)."""
    present = set(rows[0]) if rows else set(READ)
    frame: Frame = {}
    for name in READ:
        if name not in present:
            continue
        values = [row[name] for row in rows]
        if name in FLOATS:
            frame[name] = np.array([math.nan if v in (None, "") else float(str(v)) for v in values], dtype=np.float64)
        elif name in FLAGS:
            frame[name] = _truthy(np.array(values, dtype=object))
        else:
            frame[name] = np.array([str(v) if v not in (None,) else "" for v in values], dtype=object)
    return frame


def frame_of_parquet(path: Path) -> Frame:
    """The columns a report reads, straight from a Parquet export: text by dictionary encoding (one Python string
    per distinct value), numbers and flags as typed arrays, nulls as NaN, "" and False."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    available = set(pq.read_schema(path).names)
    table = pq.read_table(path, columns=[name for name in READ if name in available])
    frame: Frame = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if name in FLOATS:
            frame[name] = column.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False)
        elif name in FLAGS:
            frame[name] = column.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        else:
            encoded = column.fill_null("").dictionary_encode()
            words = np.array(encoded.dictionary.to_pylist() + [""], dtype=object)
            frame[name] = words[encoded.indices.fill_null(len(words) - 1).to_numpy(zero_copy_only=False)]
    return frame


def frame_rows(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def _members(frame: Frame, *, include_suspicious: bool, tier: str) -> np.ndarray:
    """(N,) bool: the rows of `tier` (verified: tier says so; open: counted, and suspicious when asked)."""
    n = frame_rows(frame)
    if tier == "verified":
        return frame["tier"] == "verified" if "tier" in frame else np.zeros(n, dtype=bool)
    return frame["counted"] | (include_suspicious & (frame["exclusion"] == "suspicious"))


def table_of_frame(frame: Frame, *, members: np.ndarray) -> RoundTable:
    """The member rows as the columns benchmark_tables reads: a timeout's km is inf, missing points 0."""
    def km(name: str) -> np.ndarray:
        return np.nan_to_num(frame[name][members], nan=math.inf)

    def text(name: str) -> np.ndarray:
        return frame[name][members]

    def same(a: str, b: str) -> np.ndarray:
        mine, truth = text(a), text(b)
        return (mine != "") & (mine == truth)

    return RoundTable(
        human_km=km("human_km"), model_km=km("model_km"),
        human_points=np.nan_to_num(frame["human_points"][members], nan=0.0),
        model_points=np.nan_to_num(frame["model_points"][members], nan=0.0),
        player=text("player_id"), panorama=text("panorama_id"), panorama_set=text("panorama_set"),
        model_version=text("model_name"), mode=text("mode"), continent=text("truth_continent"),
        country=text("truth_country"),
        human_same_country=same("human_country", "truth_country"),
        model_same_country=same("model_country", "truth_country"),
        human_same_continent=same("human_continent", "truth_continent"),
        model_same_continent=same("model_continent", "truth_continent"),
        set_prior_km=km("set_prior_km") if "set_prior_km" in frame and members.any() else None)


def frame_anchor(frame: Frame) -> str | None:
    """The one anchor rule of the page, the API and benchmark_report: the rows' `rating_anchor` (the default
    model when they were read); None (the model with the most counted rounds) for rows that name none."""
    anchors = frame.get("rating_anchor")
    named = anchors[anchors != ""] if anchors is not None else np.array([], dtype=object)
    return str(named[0]) if named.size else None


def tiers_of_frame(frame: Frame) -> dict[str, object]:
    """Both tiers' sizes, and why each open round is not verified (a round may have several reasons)."""
    counted = int(frame["counted"].sum())
    verified = int((frame["tier"] == "verified").sum()) if "tier" in frame else 0
    reasons: Counter[str] = Counter()
    if "tier_reasons" in frame:
        for text, n in Counter(frame["tier_reasons"][frame["tier"] == "open"].tolist()).items():
            for reason in str(text).split(";"):
                if reason:
                    reasons[reason] += n
    return {"verified": {"player_rounds": verified},
            "open": {"player_rounds": counted, "not_verified": counted - verified,
                     "reasons": dict(sorted(reasons.items()))}}


def benchmark_of_frame(frame: Frame, *, seed: int = 0, resamples: int = 1000, include_suspicious: bool = False,
                       anchor_model: str | None = None, tier: str = "open") -> dict[str, object]:
    """Every benchmark table of one tier's rows, plus how many rows were left out and why, and both tiers'
    sizes. `anchor_model`: the model whose rating is fixed at 1500; None: the rule of frame_anchor (the
    default model recorded in the rows). In the verified tier, a radius at which the set prior (a fixed guess
    at the set's centre) is inside in most rounds is not reported as a human-vs-model result."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}")
    n = frame_rows(frame)
    mode = frame["mode"] if n else np.array([], dtype=object)
    left_out = ~_members(frame, include_suspicious=include_suspicious, tier="open") if n else np.zeros(0, bool)
    modes = Counter(mode.tolist())
    pairs = (Counter(zip(mode[left_out].tolist(), frame["exclusion"][left_out].tolist(), strict=True)) if n
             else Counter())
    excluded_in: dict[str, Counter[str]] = {m: Counter() for m in modes}
    for (m, reason), count in pairs.items():
        excluded_in[str(m)][str(reason)] += count
    excluded = sum(excluded_in.values(), Counter[str]())
    # How often the model was too late, per mode: a mode where it often is loses rounds, not a random sample.
    by_mode = {m: {"player_rounds": count, "excluded": dict(sorted(excluded_in[m].items())),
                   "model_not_committed_share": excluded_in[m]["model_not_committed"] / count}
               for m, count in modes.items()}
    members = _members(frame, include_suspicious=include_suspicious, tier=tier) if n else np.zeros(0, bool)
    anchor = frame_anchor(frame) if n else None
    tables = benchmark_tables(table=table_of_frame(frame, members=members) if n else _empty_table(), seed=seed,
                              resamples=resamples, anchor_model=anchor if anchor_model is None else anchor_model)
    tables["ratings_info"]["anchor_rule"] = (
        "named for this report" if anchor_model is not None else
        "the default model, recorded in the rows' rating_anchor" if anchor else
        "the model with the most counted rounds (the rows name no default model)")
    if tier == "verified":
        for row in tables["thresholds"]:
            withhold_if_prior_wins(row)
        headline_family(tables)  # a withheld radius leaves the family
    # Which image each model's counted guesses were made on: the served bytes, or the original file.
    views: dict[str, Counter[str]] = {}
    view = frame.get("model_view")
    seen_views = (view[members] if view is not None else np.full(int(members.sum()), "", dtype=object)).tolist()
    for (model, seen), count in Counter(zip(frame["model_name"][members].tolist(), seen_views, strict=True)).items():
        views.setdefault(str(model), Counter())[str(seen)] += count
    # Ratings name a player by the seat name they chose (pseudonymous ids stay in `name`), models by their own.
    names = _display_names(frame)
    tables["ratings"] = [{**entry, "display_name": names.get(entry["name"], "") if entry["kind"] == "human"
                          else entry["name"]} for entry in tables["ratings"]]
    return {**tables, "model_views": {model: dict(sorted(counts.items())) for model, counts in sorted(views.items())},
            "player_rounds": n, "excluded": dict(sorted(excluded.items())),
            "excluded_by_mode": dict(sorted(by_mode.items())),
            "guesses_missing": int(frame["guess_missing"].sum()) if "guess_missing" in frame else 0,
            "suspicious_included": include_suspicious, "tier": tier,
            "tiers": tiers_of_frame(frame) if n else {"verified": {"player_rounds": 0},
                                                      "open": {"player_rounds": 0, "not_verified": 0,
                                                               "reasons": {}}}}


def _display_names(frame: Frame) -> dict[str, str]:
    """Each player id's latest chosen seat name (rows are oldest first; a name the player did not choose is
    empty in the rows, and the tables show the pseudonym)."""
    if "player_name" not in frame:
        return {}
    named = np.flatnonzero(frame["player_name"] != "")
    return dict(zip(frame["player_id"][named].tolist(), frame["player_name"][named].tolist(), strict=True))


def _empty_table() -> RoundTable:
    empty, nothing = np.zeros(0), np.zeros(0, dtype=object)
    flags = np.zeros(0, dtype=bool)
    return RoundTable(human_km=empty, model_km=empty, human_points=empty, model_points=empty, player=nothing,
                      panorama=nothing, panorama_set=nothing, model_version=nothing, mode=nothing, continent=nothing,
                      country=nothing, human_same_country=flags, model_same_country=flags,
                      human_same_continent=flags, model_same_continent=flags)
