"""Writing round rows as CSV, JSON lines or Parquet (with a datasheet beside), and reading them back."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

from gameserver.stats.columns import COLUMNS, NAMES
from gameserver.stats.datasheet import croissant, datasheet
from gameserver.stats.frames import Frame, frame_of_parquet, frame_of_rows

FORMATS = ("csv", "jsonl", "parquet")
CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection). Player names,
# credit lines and random ids are text anyone may have chosen; numbers are written by us and stay numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The first character and the combining marks after it decide how NFKC begins; no mark sequence is this long.
NFKC_PREFIX_CHARS = 32
TEXT_COLUMNS = frozenset(column.name for column in COLUMNS if column.kind in ("str", "datetime"))


class ExportError(ValueError):
    """An export that cannot be written or read; the message says why."""


def rows_encode(*, rows: list[dict[str, object]], fmt: str) -> bytes:
    """The rows in one of FORMATS, columns in COLUMNS order."""
    if fmt == "csv":
        text = io.StringIO()
        # The csv module's own line ending (\r\n, RFC 4180): with it, a cell holding a carriage return is quoted
        # (with \n alone it was not, and split its row in two on reading).
        writer = csv.DictWriter(text, fieldnames=NAMES)
        writer.writeheader()
        writer.writerows({k: _csv_cell(k, row[k]) for k in NAMES} for row in rows)
        return text.getvalue().encode()
    if fmt == "jsonl":
        return "".join(json.dumps({k: row[k] for k in NAMES}, allow_nan=False) + "\n" for row in rows).encode()
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            "str": pa.string(),
            "float": pa.float64(),
            "int": pa.int64(),
            "bool": pa.bool_(),
            "datetime": pa.string(),
        }
        schema = pa.schema([(c.name, types[c.kind]) for c in COLUMNS])
        table = pa.Table.from_pylist([{k: row[k] for k in NAMES} for row in rows], schema=schema)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()
    raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def csv_cell_neutralise(text: str) -> str:
    """A text cell no spreadsheet runs: one that would start a formula gets a leading single quote, and so does
    one that starts with the quote itself, so that csv_cell_restore gives back the exact text. Judged on the
    NFKC form: spreadsheets read a full-width ＝ or ＋ (and the small forms) as the ASCII sign."""
    starts = unicodedata.normalize("NFKC", text[:NFKC_PREFIX_CHARS])
    return "'" + text if starts.startswith((*FORMULA_STARTS, "'")) else text


def csv_cell_restore(cell: str) -> str:
    """The exact text of a cell csv_cell_neutralise wrote."""
    return cell[1:] if cell.startswith("'") else cell


def _csv_cell(name: str, value: object) -> object:
    if value is None:
        return ""
    return csv_cell_neutralise(str(value)) if name in TEXT_COLUMNS else value


def export_write(*, rows: list[dict[str, object]], fmt: str, out: Path, filters: dict[str, str]) -> Path:
    """Write the export, its datasheet (OUT.datasheet.md) and its Croissant description (OUT.croissant.json);
    returns the datasheet's path."""
    data = rows_encode(rows=rows, fmt=fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    sheet = out.with_name(out.name + ".datasheet.md")
    sheet.write_text(datasheet(rows=len(rows), filters=filters, fmt=fmt, records=rows))
    out.with_name(out.name + ".croissant.json").write_text(
        json.dumps(croissant(name=out.name, data=data, fmt=fmt, rows=len(rows), filters=filters), indent=2)
    )
    return sheet


def export_read(*, path: Path) -> list[dict[str, object]]:
    """Rows of an export file, format from its suffix; ExportError if it is not one of ours."""
    fmt = path.suffix.lstrip(".").lower()
    if not path.is_file():
        raise ExportError(f"no such file: {path}")
    try:
        if fmt == "csv":
            with path.open(newline="") as handle:
                rows = [
                    {
                        name: csv_cell_restore(cell) if name in TEXT_COLUMNS and isinstance(cell, str) else cell
                        for name, cell in row.items()
                    }
                    for row in csv.DictReader(handle)
                ]
            header = list(rows[0]) if rows else NAMES
        elif fmt == "jsonl":
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            header = list(rows[0]) if rows else NAMES
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            rows, header = table.to_pylist(), table.column_names
        else:
            raise ExportError(f"{path}: the suffix must be one of .{', .'.join(FORMATS)}")
    except ExportError:
        raise
    except Exception as error:  # csv, json and pyarrow each raise their own types for a damaged file
        raise ExportError(f"{path}: cannot be read: {error}") from None
    missing = [name for name in NAMES if name not in header]
    if missing:
        raise ExportError(f"{path}: not a round export, missing column(s) {', '.join(missing)}")
    return rows


def export_frame(*, path: Path) -> Frame:
    """The columns a report reads from an export file: a Parquet file column by column (no row dicts: 10^6 rows
    in about a second), CSV and JSON lines through export_read; ExportError as export_read raises it."""
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return frame_of_rows(export_read(path=path))
    try:
        import pyarrow.parquet as pq

        header = pq.read_schema(path).names
        missing = [name for name in NAMES if name not in header]
        frame = None if missing else frame_of_parquet(path)
    except Exception as error:  # pyarrow raises its own types for a damaged file
        raise ExportError(f"{path}: cannot be read: {error}") from None
    if frame is None:
        raise ExportError(f"{path}: not a round export, missing column(s) {', '.join(missing)}")
    return frame
