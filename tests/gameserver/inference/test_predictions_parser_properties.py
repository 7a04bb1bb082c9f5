"""Property-based tests (hypothesis; `make fuzz` runs them with many more examples) of the predictions parser:
whatever bytes are uploaded, it returns checked rows or refuses the file with short messages naming rows; no
other exception (a 500 on the admin page) and no message echoing a value whole."""

from __future__ import annotations

import csv
import io
import json
import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gameserver.inference.external import TOP_CELLS_MAX, PredictionsError, predictions_parse
from planet_engine.bounded_input import FIELD_MAX_CHARS

EXAMPLES = settings().max_examples
PANORAMAS = [(1, "images/a.jpg"), (2, "images/b.jpg"), (3, "other/b.jpg")]
FILES = ["images/a.jpg", "a.jpg", "b.jpg", "other/b.jpg", "./images/a.jpg", "nope.jpg", ""]
# A problem names its row and stays one short line: the longest fixed wording plus two cut excerpts.
PROBLEM_MAX_CHARS = 300


class Raw(str):
    """Text written into the file as it is: a number too long for int() or a nesting too deep for json.dumps."""


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=1, max_value=6000).map(lambda digits: Raw("9" * digits)),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
tokens = st.sampled_from(["89", "8c", "1", "zz", "", "8" * 17, "00"]) | st.text(max_size=5)
cells = st.one_of(
    st.lists(st.tuples(tokens, numbers).map(list), max_size=3),
    st.lists(st.fixed_dictionaries({"token": tokens, "probability": numbers}), max_size=3),
    json_values,
    st.integers(min_value=0, max_value=40_000).map(lambda depth: Raw("[" * depth + "]" * depth)),
)
records = st.fixed_dictionaries(
    {
        "file": st.sampled_from(FILES) | json_values,
        "latitude": numbers | json_values,
        "longitude": numbers | json_values,
    },
    optional={"top_cells": cells},
)
long_text = st.integers(min_value=0, max_value=2 * FIELD_MAX_CHARS).map(lambda length: Raw("x" * length))


def encoded(value: object) -> str:
    """`value` as JSON text, Raw text as it is."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(encoded(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)}: {encoded(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


def as_jsonl(rows: list[dict[str, object]]) -> bytes:
    return "\n".join(encoded(row) for row in rows).encode()


def as_csv(rows: list[dict[str, object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["file", "latitude", "longitude", "top_cells"], restval="")
    writer.writeheader()
    writer.writerows(
        {key: value if isinstance(value, str) else encoded(value) for key, value in row.items()} for row in rows
    )
    return buffer.getvalue().encode()


def check(data: bytes, file_name: str) -> None:
    try:
        rows = predictions_parse(data=data, file_name=file_name, set_name="s", panoramas=PANORAMAS)
    except PredictionsError as error:
        assert error.problems
        for problem in error.problems:
            assert isinstance(problem, str) and problem and "\n" not in problem
            assert len(problem) < PROBLEM_MAX_CHARS, problem[:PROBLEM_MAX_CHARS]
        return
    assert rows and len({row.panorama_id for row in rows}) == len(rows)
    for row in rows:
        assert row.panorama_id in dict(PANORAMAS)
        assert -90 <= row.latitude <= 90 and -180 <= row.longitude <= 180
        assert len(row.top_cells) <= TOP_CELLS_MAX
        assert all(
            isinstance(cell["probability"], float)
            and 0 <= cell["probability"] <= 1
            and isinstance(cell["latitude"], float)
            and math.isfinite(cell["latitude"])
            for cell in row.top_cells
        )


@settings(max_examples=2 * EXAMPLES, deadline=None)
@given(rows=st.lists(records, max_size=4), file_name=st.sampled_from(["p.csv", "p.jsonl"]))
@example(
    rows=[{"file": "a.jpg", "latitude": 1, "longitude": 2, "top_cells": Raw("[" * 30_000 + "]" * 30_000)}],
    file_name="p.csv",
)  # RecursionError
@example(
    rows=[{"file": "a.jpg", "latitude": 1, "longitude": 2, "top_cells": Raw("[" * 30_000 + "]" * 30_000)}],
    file_name="p.jsonl",
)  # RecursionError
@example(rows=[{"file": "a.jpg", "latitude": Raw("9" * 4301), "longitude": 2}], file_name="p.jsonl")  # int()
def test_any_predictions_parse_to_checked_rows_or_refuse_with_short_problems(
    rows: list[dict[str, object]], file_name: str
) -> None:
    check(as_csv(rows) if file_name.endswith(".csv") else as_jsonl(rows), file_name)


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(
    field=st.sampled_from(["file", "latitude", "longitude", "top_cells"]),
    text=long_text,
    file_name=st.sampled_from(["p.csv", "p.jsonl"]),
)
@example(field="top_cells", text=Raw("x" * (FIELD_MAX_CHARS + 1)), file_name="p.csv")  # _csv.Error
def test_a_field_of_any_length_parses_or_is_refused_by_row(field: str, text: str, file_name: str) -> None:
    row: dict[str, object] = {"file": "a.jpg", "latitude": 1, "longitude": 2, field: text}
    check(as_csv([row]) if file_name.endswith(".csv") else as_jsonl([row]), file_name)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.binary(max_size=300), file_name=st.sampled_from(["p.csv", "p.jsonl", "p.txt", "p"]))
def test_any_bytes_parse_or_are_refused(data: bytes, file_name: str) -> None:
    check(data, file_name)
