"""Every benchmark table from export rows held as columns (a Frame, gameserver/stats/frames.py), whatever the rows
came from: the live rows, a CSV or JSON lines export read back, or a Parquet export read column by column. Pure
NumPy, no Django: the stats page, the API and `benchmark_report` all end here."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from gameserver.stats.benchmark import RoundTable, benchmark_tables
from gameserver.stats.estimands import headline_family
from gameserver.stats.frames import CODES, WORDS, Frame
from gameserver.stats.tiers import TIERS, withhold_if_prior_wins

# RoundTable's text fields and the columns they come from.
LABELLED = {
    "player": "player_id",
    "panorama": "panorama_id",
    "panorama_set": "panorama_set",
    "model_version": "model_name",
    "mode": "mode",
    "continent": "truth_continent",
    "country": "truth_country",
}
# Beside an error column, once a table asked for it: every row in error order (int64, see _ranked_members).
RANKED = ":ranked"
OPTIONAL = frozenset({"set_prior_km", "guess_missing", "model_view", "tier", "tier_reasons", "rating_anchor"})


def codes_of(frame: Frame, name: str, *, members: np.ndarray) -> tuple[list[str], np.ndarray] | None:
    """The member rows of text column `name` factorised: (sorted distinct texts, each row's index into them),
    from the codes frame_of_parquet keeps beside the column (the same result as factorising the texts, without
    a pass of Python over the rows); None when the frame has no codes for it."""
    if name + CODES not in frame:
        return None
    codes, words = frame[name + CODES], frame[name + WORDS]
    member_codes = codes[members]
    used = np.flatnonzero(np.bincount(member_codes, minlength=words.size))
    renumber = np.zeros(words.size, dtype=np.int64)
    renumber[used] = np.arange(used.size)
    return words[used].tolist(), renumber[member_codes]


def texts(frame: Frame, name: str, *, rows: np.ndarray) -> np.ndarray:
    """The text column `name` at `rows` (bool mask or indices) as an object array (from the codes where kept)."""
    if name + CODES in frame:
        return frame[name + WORDS][frame[name + CODES][rows]]
    return frame[name][rows]


def equals(frame: Frame, name: str, word: str) -> np.ndarray:
    """(N,) bool: the text column `name` is `word` (a comparison of codes where kept)."""
    if name + CODES not in frame:
        return frame[name] == word
    words = frame[name + WORDS].tolist()
    return frame[name + CODES] == words.index(word) if word in words else np.zeros(frame_rows(frame), dtype=bool)


def tally(frame: Frame, names: tuple[str, ...], *, rows: np.ndarray) -> Counter[tuple[str, ...]]:
    """How many of the `rows` ((N,) bool) hold each combination of the text columns `names`: one bincount of the
    combined codes where frame_of_parquet kept them, else a count of the texts."""
    if not all(name + CODES in frame for name in names):
        return Counter(zip(*(frame[name][rows].tolist() for name in names), strict=True))
    words = [frame[name + WORDS] for name in names]
    key = np.zeros(int(rows.sum()), dtype=np.int64)
    for name, column_words in zip(names, words, strict=True):
        key = key * column_words.size + frame[name + CODES][rows]
    counts = np.bincount(key)
    held = np.flatnonzero(counts)
    indices = np.unravel_index(held, [column_words.size for column_words in words]) if held.size else ()
    return Counter(
        {
            tuple(str(column_words[i]) for column_words, i in zip(words, combination, strict=True)): int(count)
            for *combination, count in zip(*indices, counts[held], strict=True)
        }
    )


def frame_rows(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def _members(frame: Frame, *, include_suspicious: bool, tier: str) -> np.ndarray:
    """(N,) bool: the rows of `tier` (verified: tier says so; open: counted, and suspicious when asked)."""
    n = frame_rows(frame)
    if tier == "verified":
        return equals(frame, "tier", "verified") if "tier" in frame else np.zeros(n, dtype=bool)
    return frame["counted"] | (include_suspicious & equals(frame, "exclusion", "suspicious"))


def table_of_frame(frame: Frame, *, members: np.ndarray) -> RoundTable:
    """The member rows as the columns benchmark_tables reads: a timeout's km is inf, missing points 0."""

    def km(name: str) -> np.ndarray:
        return np.nan_to_num(frame[name][members], nan=math.inf)

    def text(name: str) -> np.ndarray:
        return texts(frame, name, rows=members)

    def same(a: str, b: str) -> np.ndarray:
        if a + CODES in frame and b + CODES in frame:
            # Each of a's texts as b's code (-1: not among b's, or ""), then integer comparisons only.
            position = {word: i for i, word in enumerate(frame[b + WORDS].tolist()) if word != ""}
            as_b = np.array([position.get(word, -1) for word in frame[a + WORDS].tolist()], dtype=np.int64)
            return as_b[frame[a + CODES][members]] == frame[b + CODES][members]
        mine, truth = text(a), text(b)
        return (mine != "") & (mine == truth)

    labels = {
        field: labels
        for field, name in LABELLED.items()
        if (labels := codes_of(frame, name, members=members)) is not None
    }
    return RoundTable(
        human_km=km("human_km"),
        model_km=km("model_km"),
        human_points=np.nan_to_num(frame["human_points"][members], nan=0.0),
        model_points=np.nan_to_num(frame["model_points"][members], nan=0.0),
        # A field held as codes gets no object array of its texts: the tables read the codes only.
        **{field: None if field in labels else text(name) for field, name in LABELLED.items()},
        human_same_country=same("human_country", "truth_country"),
        model_same_country=same("model_country", "truth_country"),
        human_same_continent=same("human_continent", "truth_continent"),
        model_same_continent=same("model_continent", "truth_continent"),
        set_prior_km=km("set_prior_km") if "set_prior_km" in frame and members.any() else None,
        labels=labels,
        ranked={side: _ranked_members(frame, f"{side}_km", members=members) for side in ("human", "model")},
    )


def _ranked_members(frame: Frame, name: str, *, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The member rows' errors of column `name` sorted (NaN, a timeout, as inf), and the member rows (0..n-1) in
    that order, cut from one sort of every row, kept in the frame under name + RANKED: the two tiers' tables
    sort each column once. Ties come in any order, as from a sort of the members alone."""
    if name + RANKED not in frame:
        frame[name + RANKED] = np.argsort(np.nan_to_num(frame[name], nan=math.inf))
    order = frame[name + RANKED]
    kept = order[members[order]]  # the member rows, as rows of the frame, in error order
    member_order = (np.cumsum(members) - 1)[kept]
    return np.nan_to_num(frame[name][kept], nan=math.inf), member_order


def frame_anchor(frame: Frame) -> str | None:
    """The one anchor rule of the page, the API and benchmark_report: the rows' `rating_anchor` (the default
    model when they were read); None (the model with the most counted rounds) for rows that name none."""
    named = (
        texts(frame, "rating_anchor", rows=~equals(frame, "rating_anchor", ""))
        if "rating_anchor" in frame
        else np.array([], dtype=object)
    )
    return str(named[0]) if named.size else None


def tiers_of_frame(frame: Frame) -> dict[str, object]:
    """Both tiers' sizes, and why each open round is not verified (a round may have several reasons)."""
    counted = int(frame["counted"].sum())
    verified = int(equals(frame, "tier", "verified").sum()) if "tier" in frame else 0
    reasons: Counter[str] = Counter()
    if "tier_reasons" in frame:
        for (text,), n in tally(frame, ("tier_reasons",), rows=equals(frame, "tier", "open")).items():
            for reason in str(text).split(";"):
                if reason:
                    reasons[reason] += n
    return {
        "verified": {"player_rounds": verified},
        "open": {
            "player_rounds": counted,
            "not_verified": counted - verified,
            "reasons": dict(sorted(reasons.items())),
        },
    }


def benchmark_of_frame(
    frame: Frame,
    *,
    seed: int = 0,
    resamples: int = 1000,
    include_suspicious: bool = False,
    anchor_model: str | None = None,
    tier: str = "open",
) -> dict[str, object]:
    """Every benchmark table of one tier's rows, plus how many rows were left out and why, and both tiers'
    sizes. `anchor_model`: the model whose rating is fixed at 1500; None: the rule of frame_anchor (the
    default model recorded in the rows). In the verified tier, a radius at which the set prior (a fixed guess
    at the set's centre) is inside in most rounds is not reported as a human-vs-model result."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}")
    n = frame_rows(frame)
    left_out = ~_members(frame, include_suspicious=include_suspicious, tier="open") if n else np.zeros(0, bool)
    modes = Counter(
        {m: count for (m,), count in tally(frame, ("mode",), rows=np.ones(n, dtype=bool)).items()} if n else {}
    )
    pairs = tally(frame, ("mode", "exclusion"), rows=left_out) if n else Counter()
    excluded_in: dict[str, Counter[str]] = {m: Counter() for m in modes}
    for (m, reason), count in pairs.items():
        excluded_in[str(m)][str(reason)] += count
    excluded = sum(excluded_in.values(), Counter[str]())
    # How often the model was too late, per mode: a mode where it often is loses rounds, not a random sample.
    by_mode = {
        m: {
            "player_rounds": count,
            "excluded": dict(sorted(excluded_in[m].items())),
            "model_not_committed_share": excluded_in[m]["model_not_committed"] / count,
        }
        for m, count in modes.items()
    }
    members = _members(frame, include_suspicious=include_suspicious, tier=tier) if n else np.zeros(0, bool)
    anchor = frame_anchor(frame) if n else None
    tables = benchmark_tables(
        table=table_of_frame(frame, members=members) if n else _empty_table(),
        seed=seed,
        resamples=resamples,
        anchor_model=anchor if anchor_model is None else anchor_model,
    )
    tables["ratings_info"]["anchor_rule"] = (
        "named for this report"
        if anchor_model is not None
        else "the default model, recorded in the rows' rating_anchor"
        if anchor
        else "the model with the most counted rounds (the rows name no default model)"
    )
    if tier == "verified":
        for row in tables["thresholds"]:
            withhold_if_prior_wins(row)
        headline_family(tables)  # a withheld radius leaves the family
    # Which image each model's counted guesses were made on: the served bytes, or the original file.
    views: dict[str, Counter[str]] = {}
    seen_views = (
        tally(frame, ("model_name", "model_view"), rows=members)
        if "model_view" in frame
        else {(model, ""): count for (model,), count in tally(frame, ("model_name",), rows=members).items()}
    )
    for (model, seen), count in seen_views.items():
        views.setdefault(str(model), Counter())[str(seen)] += count
    # Ratings name a player by the seat name they chose (pseudonymous ids stay in `name`), models by their own.
    names = _display_names(frame)
    tables["ratings"] = [
        {**entry, "display_name": names.get(entry["name"], "") if entry["kind"] == "human" else entry["name"]}
        for entry in tables["ratings"]
    ]
    return {
        **tables,
        "model_views": {model: dict(sorted(counts.items())) for model, counts in sorted(views.items())},
        "player_rounds": n,
        "excluded": dict(sorted(excluded.items())),
        "excluded_by_mode": dict(sorted(by_mode.items())),
        "guesses_missing": int(frame["guess_missing"].sum()) if "guess_missing" in frame else 0,
        "suspicious_included": include_suspicious,
        "tier": tier,
        "tiers": tiers_of_frame(frame)
        if n
        else {"verified": {"player_rounds": 0}, "open": {"player_rounds": 0, "not_verified": 0, "reasons": {}}},
    }


def _display_names(frame: Frame) -> dict[str, str]:
    """Each player id's latest chosen seat name (rows are oldest first; a name the player did not choose is
    empty in the rows, and the tables show the pseudonym)."""
    if "player_name" not in frame:
        return {}
    named = np.flatnonzero(~equals(frame, "player_name", ""))
    return dict(
        zip(
            texts(frame, "player_id", rows=named).tolist(),
            texts(frame, "player_name", rows=named).tolist(),
            strict=True,
        )
    )


def _empty_table() -> RoundTable:
    empty, nothing = np.zeros(0), np.zeros(0, dtype=object)
    flags = np.zeros(0, dtype=bool)
    return RoundTable(
        human_km=empty,
        model_km=empty,
        human_points=empty,
        model_points=empty,
        player=nothing,
        panorama=nothing,
        panorama_set=nothing,
        model_version=nothing,
        mode=nothing,
        continent=nothing,
        country=nothing,
        human_same_country=flags,
        model_same_country=flags,
        human_same_continent=flags,
        model_same_continent=flags,
    )
