"""Uploaded text read within bounds: the manifest reader (property-based; `make fuzz` runs it with many more
examples) and the JSON reader the predictions parser uses refuse what is past a bound with one short message
naming the row, never a parser's own exception."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from planet_engine.bounded_input import FIELD_MAX_CHARS, JSON_MAX_DEPTH, NUMBER_MAX_CHARS, json_depth, json_parse
from planet_engine.manifest import ManifestError, read_manifest

EXAMPLES = settings().max_examples
PROBLEM_MAX_CHARS = 200

# A cell of any length up to twice csv's field limit, cheap to make: a repeated character.
long_cells = st.tuples(st.sampled_from('x9"[,é\x00'), st.integers(min_value=0, max_value=2 * FIELD_MAX_CHARS)).map(
    lambda made: made[0] * made[1]
)
cells = st.one_of(st.text(max_size=8), long_cells, st.sampled_from(["1", "-45.5", "1e999", "nan", "a.jpg"]))


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(
    header=st.lists(st.sampled_from(["file", "latitude", "longitude", "note"]) | cells, min_size=1, max_size=6),
    rows=st.lists(st.lists(cells, max_size=6), max_size=3),
    extra_columns=st.sampled_from([0, 0, 70, 1000]),
)
@example(
    header=["file", "latitude", "longitude"], rows=[["a.jpg", "1", "x" * (FIELD_MAX_CHARS + 1)]], extra_columns=0
)  # "malformed CSV: field larger than field limit (131072)", with no row named
@example(
    header=["file", "latitude", "longitude"], rows=[["a.jpg", "9" * 100_000, "2"]], extra_columns=0
)  # a 100 KB error message quoting the number
@example(
    header=["file", "latitude", "longitude"], rows=[["a" * 2000, "1", "2"]], extra_columns=0
)  # longer than the game's column for it
def test_any_manifest_reads_or_is_refused_with_short_problems(
    header: list[str], rows: list[list[str]], extra_columns: int
) -> None:
    header = header + [f"c{index}" for index in range(extra_columns)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "manifest.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        try:
            manifest = read_manifest(path, check_files=False)
        except ManifestError as error:
            assert error.problems
            for problem in error.problems:
                assert "\n" not in problem and len(problem) < PROBLEM_MAX_CHARS, problem[:PROBLEM_MAX_CHARS]
            return
    assert len(header) <= 64 and all(len(row.file) <= 500 for row in manifest.rows)


def test_a_field_over_the_csv_limit_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.csv"
    path.write_text(f'file,latitude,longitude\na.jpg,1,2\nb.jpg,1,"{"x" * (FIELD_MAX_CHARS + 1)}"\n')
    with pytest.raises(ManifestError) as refused:
        read_manifest(path, check_files=False)
    assert refused.value.problems == [f"line 3: malformed CSV: a field is longer than {FIELD_MAX_CHARS} characters"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[" * 30_000 + "]" * 30_000, f"JSON nested 30000 deep, deeper than {JSON_MAX_DEPTH}"),
        ("9" * 5000, f"a number 5000 digits long, more than {NUMBER_MAX_CHARS}"),
        ("1." + "0" * 100, f"a number 102 characters long, more than {NUMBER_MAX_CHARS}"),
        ('["a', "not JSON: Unterminated string starting at at character 1"),
    ],
    ids=["deep", "long integer", "long float", "broken"],
)
def test_json_past_a_bound_is_a_value_error_saying_which(text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        json_parse(text)
    assert str(refused.value) == message


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('[["[[[", "\\"]]]"], {"a": []}]') == 3
    assert json_parse('[["[[[", 1]]') == [["[[[", 1]]
