"""A Parquet export read column by column (dictionary codes kept beside the texts) gives the same tables as the
same rows read one dict at a time: the codes replace factorising, counting and comparing the texts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gameserver.stats.benchmark import _factorize, benchmark_tables
from gameserver.stats.frames import CODES, frame_of_parquet, frame_of_rows
from gameserver.stats.report import LABELLED, RANKED, benchmark_of_frame, codes_of, table_of_frame, tally
from gameserver.stats.tiers import TIERS


def awkward_export(tmp_path: Path) -> Path:
    """3000 rounds of 300 panoramas, 40 players and 3 models, written in small row groups (one dictionary each, in
    a different order), with nulls, empty texts and texts of their own in the columns the tables compare and
    count, and nulls in a number and a flag column."""
    rng = np.random.default_rng(4)
    n = 3000

    def pick(words: list[str], *, missing: bool = False) -> list[str | None]:
        values = np.array(words, dtype=object)[rng.integers(0, len(words), n)]
        if missing:
            draw = rng.random(n)
            values[draw < 0.1], values[(draw >= 0.1) & (draw < 0.15)] = None, ""
        return values.tolist()

    countries = [f"C{i:02d}" for i in range(30)]
    tier = pick(["verified", "verified", "open", "excluded"])
    human_km = rng.lognormal(7, 1.2, n)
    human_km[rng.random(n) < 0.03] = np.nan  # timeouts
    columns: dict[str, object] = {
        "human_km": human_km,
        "model_km": rng.lognormal(6.5, 1.5, n),
        "human_points": rng.random(n) * 5000,
        "model_points": [None if x < 250 else x for x in rng.random(n) * 5000],  # nulls: no points recorded
        "set_prior_km": rng.lognormal(8, 0.5, n),
        "counted": [t != "excluded" for t in tier],
        "guess_missing": [None if x < 0.05 else bool(x < 0.07) for x in rng.random(n)],
        "player_id": pick([f"u{i}" for i in range(40)]),
        "player_name": pick(["ann", "bob"], missing=True),
        "panorama_id": pick([f"p{i}" for i in range(300)]),
        "panorama_set": pick(["yfcc", "osv"]),
        "model_name": pick(["lite0", "lite2", "knn"]),
        "model_view": pick(["served", "original"], missing=True),
        "mode": pick(["classic", "nmpz"]),
        "truth_continent": pick(["Europe", "Asia"], missing=True),
        "truth_country": pick(countries, missing=True),
        # "A0": a guess in a country no truth is in, so the two columns' texts differ.
        "human_country": pick([*countries[::2], "A0"], missing=True),
        "model_country": pick(countries, missing=True),
        "human_continent": pick(["Europe", "Asia"], missing=True),
        "model_continent": pick(["Europe", "Asia"]),
        "exclusion": ["seen_before" if t == "excluded" else "" for t in tier],
        "tier": tier,
        "tier_reasons": ["guest;new" if t == "open" else "" for t in tier],
        "rating_anchor": pick(["lite2"]),
    }
    path = tmp_path / "awkward.parquet"
    pq.write_table(pa.table({name: pa.array(values) for name, values in columns.items()}), path, row_group_size=700)
    return path


def test_a_parquet_export_gives_the_tables_of_its_rows_read_one_by_one(tmp_path):
    path = awkward_export(tmp_path)
    columnar, by_rows = frame_of_parquet(path), frame_of_rows(pq.read_table(path).to_pylist())
    assert "player_id" + CODES in columnar and "player_id" + CODES not in by_rows
    # A text column asked for by name is the rows' texts (made from the codes on first use).
    assert all(columnar[name].tolist() == by_rows[name].tolist() for name in ("human_country", "model_view"))
    for tier in TIERS:
        fast = benchmark_of_frame(columnar, tier=tier, resamples=200)
        slow = benchmark_of_frame(by_rows, tier=tier, resamples=200)
        assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)


def test_codes_factorise_the_member_rows_as_their_texts_do(tmp_path):
    frame = frame_of_parquet(awkward_export(tmp_path))
    members = np.random.default_rng(1).random(frame["mode"].size) < 0.4
    for name in LABELLED.values():
        names, codes = codes_of(frame, name, members=members) or ([], np.zeros(0))
        expected_names, expected_codes = _factorize(frame[name][members])
        assert names == expected_names and np.array_equal(codes, expected_codes)


def test_a_text_field_held_as_codes_gets_no_texts_and_a_field_with_neither_is_refused(tmp_path):
    frame = frame_of_parquet(awkward_export(tmp_path))
    table = table_of_frame(frame, members=frame["counted"])
    assert table.player is None and table.labels is not None and set(table.labels) == set(LABELLED)
    names, codes = table.factorised("player")
    assert np.array_equal(np.array(names, dtype=object)[codes], frame["player_id"][frame["counted"]])
    with pytest.raises(ValueError, match="player"):
        benchmark_tables(
            table=replace(table, labels={k: v for k, v in table.labels.items() if k != "player"}), resamples=20
        )


def test_both_tiers_cut_their_sorted_errors_from_one_sort_and_get_the_tables_of_their_own_sort(tmp_path):
    frame = frame_of_parquet(awkward_export(tmp_path))
    for members in (frame["counted"], frame["tier"] == "verified"):
        table = table_of_frame(frame, members=members)
        assert table.ranked is not None and "human_km" + RANKED in frame
        for side in ("human", "model"):
            ordered, order = table.ranked[side]
            km = np.nan_to_num(frame[f"{side}_km"][members], nan=np.inf)
            assert np.array_equal(ordered, np.sort(km)) and np.array_equal(km[order], ordered)
        own_sort = benchmark_tables(table=replace(table, ranked=None), resamples=100)
        assert json.dumps(benchmark_tables(table=table, resamples=100)) == json.dumps(own_sort)


def test_a_tally_counts_the_combinations_of_texts_in_the_rows(tmp_path):
    frame = frame_of_parquet(awkward_export(tmp_path))
    rows = frame["tier"] == "open"
    columns = ("model_name", "model_view")
    expected = Counter(zip(*(frame[name][rows].tolist() for name in columns), strict=True))
    assert tally(frame, columns, rows=rows) == expected
    without_codes = {name: frame[name] for name in columns}
    assert tally(without_codes, columns, rows=rows) == expected


def test_reading_a_parquet_export_imports_neither_pandas_nor_pyarrow_compute(tmp_path):
    # pyarrow's to_numpy and fill_null import pandas (~0.6 s of a report), a cast pyarrow.compute (~0.2 s): the
    # frame is read from the buffers, each column in the export's own type.
    path = awkward_export(tmp_path)
    code = (
        "import os, sys, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'gameserver.settings')\n"
        "django.setup()\n"
        "assert 'pandas' not in sys.modules, 'pandas imported before the read'\n"
        "from gameserver.stats.frames import frame_of_parquet\n"
        f"frame = frame_of_parquet({str(path)!r})\n"
        "assert frame['model_points'].size == 3000 and frame['human_country'].size == 3000\n"
        "assert 'pandas' not in sys.modules, 'pandas imported by the read'\n"
        "assert 'pyarrow.compute' not in sys.modules, 'a column of its own type cast'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3], check=True)


def test_number_and_flag_columns_of_other_types_are_cast(tmp_path):
    table = pq.read_table(awkward_export(tmp_path))
    points = np.arange(table.num_rows) % 5000
    table = table.set_column(table.schema.get_field_index("human_points"), "human_points", pa.array(points))
    table = table.set_column(table.schema.get_field_index("counted"), "counted", pa.array(points % 2, pa.int8()))
    pq.write_table(table, tmp_path / "cast.parquet")
    frame = frame_of_parquet(tmp_path / "cast.parquet")
    assert frame["human_points"].dtype == np.float64 and np.array_equal(frame["human_points"], points)
    assert frame["counted"].dtype == bool and np.array_equal(frame["counted"], points % 2 == 1)
