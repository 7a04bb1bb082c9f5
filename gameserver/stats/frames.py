"""A report's input as columns (a Frame: one NumPy array per column the tables read), from export rows
(frame_of_rows: the live rows, a CSV or JSON lines export read back) or straight from a Parquet export
(frame_of_parquet: 10^6 rows in about a second, never a Python dict per row). Pure NumPy and pyarrow."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

Row = dict[str, object]
Frame = dict[str, np.ndarray]


FLOATS = ("human_km", "model_km", "human_points", "model_points", "set_prior_km")
FLAGS = ("counted", "guess_missing")
TEXTS = (
    "player_id",
    "player_name",
    "panorama_id",
    "panorama_set",
    "model_name",
    "model_view",
    "mode",
    "truth_continent",
    "truth_country",
    "human_country",
    "model_country",
    "human_continent",
    "model_continent",
    "exclusion",
    "tier",
    "tier_reasons",
    "rating_anchor",
)
# Columns a report reads; an older export may lack the optional ones.
READ = (*FLOATS, *FLAGS, *TEXTS)
# Beside a text column read from Parquet: each row's code (int32) into the column's sorted distinct texts.
CODES, WORDS = ":codes", ":words"


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


class CodedFrame(dict[str, np.ndarray]):
    """A Frame whose text columns are held as codes and sorted words (frame_of_parquet): a column's object array
    is made the first time a caller asks for it by name; the tables read the codes (texts, equals, tally)."""

    def __missing__(self, name: str) -> np.ndarray:
        if not dict.__contains__(self, name + CODES):
            raise KeyError(name)
        self[name] = column = self[name + WORDS][self[name + CODES]]
        return column

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (isinstance(name, str) and dict.__contains__(self, name + CODES))


def frame_of_parquet(path: Path) -> Frame:
    """The columns a report reads, straight from a Parquet export: text read as dictionary-encoded (one Python
    string per distinct value, and each row's code beside it, so the tables never factorise a text column again:
    see codes_of), numbers and flags as typed arrays, nulls as NaN, "" and False."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    available = set(pq.read_schema(path).names)
    # ParquetFile, not read_table: read_table goes through pyarrow.dataset, which imports pandas (~1 s).
    file = pq.ParquetFile(path, read_dictionary=[name for name in TEXTS if name in available])
    table = file.read(columns=[name for name in READ if name in available]).unify_dictionaries().combine_chunks()
    frame = CodedFrame()
    for name in table.column_names:
        column = table.column(name).chunk(0) if table.num_rows else table.column(name).combine_chunks()
        if name in FLOATS:
            numbers = column if column.type == pa.float64() else column.cast(pa.float64())
            values = _buffer_values(numbers, dtype=np.float64)
            frame[name] = np.where(_valid(numbers), values, np.nan) if numbers.null_count else values.copy()
        elif name in FLAGS:
            column = column if column.type == pa.bool_() else column.cast(pa.bool_())
            flags = _bits(column.buffers()[1], column)
            frame[name] = flags & _valid(column) if column.null_count else flags  # a null as False
        else:
            encoded = column if pa.types.is_dictionary(column.type) else column.cast(pa.string()).dictionary_encode()
            words = [str(word) for word in encoded.dictionary.to_pylist()] + [""]  # "": a null's word
            names = sorted(set(words))
            position = {word: i for i, word in enumerate(names)}
            recode = np.array([position[word] for word in words], dtype=np.int32)
            index_type = encoded.indices.type
            indices = _buffer_values(
                encoded.indices,
                dtype=np.dtype(f"{'i' if pa.types.is_signed_integer(index_type) else 'u'}{index_type.bit_width // 8}"),
            )
            if encoded.null_count:
                indices = np.where(_valid(encoded.indices), indices, len(words) - 1)
            frame[name + WORDS], frame[name + CODES] = np.array(names, dtype=object), recode[indices]
    return frame


# Arrays are read from their Arrow buffers: Array.to_numpy and fill_null go through pyarrow's pandas conversion
# and scalars, which import pandas (~0.6 s of a 10^6-row report, for nothing it uses); a column of the export's
# own type is not cast, since a cast imports pyarrow.compute (~0.2 s).
def _buffer_values(array: pa.Array, *, dtype: np.dtype | type) -> np.ndarray:
    """(N,) a fixed-width array's values as a read-only view of its data buffer (a null's slot: any value)."""
    width = np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * width)


def _bits(buffer: pa.Buffer, array: pa.Array) -> np.ndarray:
    """(N,) bool: the bitmap `buffer` (least significant bit first) at the rows of `array`."""
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")
    return bits[array.offset : array.offset + len(array)].astype(bool)


def _valid(array: pa.Array) -> np.ndarray:
    """(N,) bool: the row is not null."""
    validity = array.buffers()[0]
    return np.ones(len(array), dtype=bool) if validity is None else _bits(validity, array)
