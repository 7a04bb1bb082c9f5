"""Reading uploaded text within stated bounds, so a hostile or broken file (a manifest, a predictions file) is
refused with a message naming its row instead of raising deep inside a parser.

Python's own parsers each fail differently past a size: csv raises `_csv.Error: field larger than field limit`,
json recurses until RecursionError on `[[[[...`, and int() refuses more than 4,300 digits with a ValueError that
is not a JSONDecodeError. Every bound here is checked before that parser runs, and every message quotes at most
SHOWN_MAX_CHARS of the offending value (a 100 KB value once made a 100 KB error page).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator, Sequence

# csv's own default limit, and the longest line of a JSON-lines file: no honest row comes near it.
FIELD_MAX_CHARS = 131_072
JSON_MAX_DEPTH = 16  # top_cells is a list of [token, probability]: depth 2, 3 inside an object
NUMBER_MAX_CHARS = 64  # a float's repr is at most 24 characters; room for spelled-out zeros
COLUMNS_MAX = 64
SHOWN_MAX_CHARS = 40

# A JSON string, escapes included (the unrolled form stays linear on long strings).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def shown(value: object) -> str:
    """`value`'s repr, cut to SHOWN_MAX_CHARS, for an error message that must stay one short line."""
    text = value if isinstance(value, str) else type(value).__name__
    quoted = repr(text[:SHOWN_MAX_CHARS])
    return quoted if len(text) <= SHOWN_MAX_CHARS else f"{quoted}... ({len(text)} characters)"


def finite_float(text: str, column: str) -> float:
    """`text` as a finite float, or ValueError naming the column (and never more than a short excerpt)."""
    if len(text) > NUMBER_MAX_CHARS:
        raise ValueError(f"{column} is {len(text)} characters long, more than {NUMBER_MAX_CHARS}")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} {shown(text)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} {shown(text)} is not finite")
    return value


def json_depth(text: str) -> int:
    """How deep `text` nests arrays and objects, brackets inside strings aside. On text that is not JSON it may
    overcount, never undercount: it is a bound checked before parsing, not a parser."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def json_parse(text: str) -> object:
    """`text` parsed as JSON within FIELD_MAX_CHARS, JSON_MAX_DEPTH and NUMBER_MAX_CHARS; ValueError saying which
    bound or which syntax error, never RecursionError or int()'s digit limit."""
    if len(text) > FIELD_MAX_CHARS:
        raise ValueError(f"JSON of {len(text)} characters is longer than {FIELD_MAX_CHARS}")
    depth = json_depth(text)
    if depth > JSON_MAX_DEPTH:
        raise ValueError(f"JSON nested {depth} deep, deeper than {JSON_MAX_DEPTH}")
    try:
        return json.loads(text, parse_int=_json_int, parse_float=_json_float)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} at character {error.pos}") from None


def _json_int(text: str) -> int:
    if len(text) > NUMBER_MAX_CHARS:
        raise ValueError(f"a number {len(text)} digits long, more than {NUMBER_MAX_CHARS}")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > NUMBER_MAX_CHARS:
        raise ValueError(f"a number {len(text)} characters long, more than {NUMBER_MAX_CHARS}")
    return float(text)


def csv_records(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line number, the row) for each row of `reader`, then, where the CSV breaks (a field over the limit, a broken
    quote), one (line number, why) and no more: past a csv error the rest of the file cannot be trusted."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # csv counts a line once it has parsed it: the broken one is the next
            yield reader.line_num + 1, csv_error_text(error)
            return
        yield reader.line_num, dict(record)


def csv_header_problem(fieldnames: Sequence[str] | None) -> str | None:
    """Why a CSV header cannot be read as columns (too many of them), or None."""
    if fieldnames is not None and len(fieldnames) > COLUMNS_MAX:
        return f"the header has {len(fieldnames)} columns, more than {COLUMNS_MAX}"
    return None


def csv_error_text(error: csv.Error) -> str:
    """A csv error as a short message; csv's own for the field limit does not say which limit in what unit."""
    text = str(error)
    if "field larger than field limit" in text:
        text = f"a field is longer than {csv.field_size_limit()} characters"
    return f"malformed CSV: {text[:200]}"
