"""Writing round rows as CSV, JSON lines or Parquet (with a datasheet beside), and reading them back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from gameserver.stats.columns import COLUMNS, NAMES, datasheet

FORMATS = ("csv", "jsonl", "parquet")
CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}


class ExportError(ValueError):
    """An export that cannot be written or read; the message says why."""


def rows_encode(*, rows: list[dict[str, object]], fmt: str) -> bytes:
    """The rows in one of FORMATS, columns in COLUMNS order."""
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=NAMES, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if row[k] is None else row[k] for k in NAMES} for row in rows)
        return text.getvalue().encode()
    if fmt == "jsonl":
        return "".join(json.dumps({k: row[k] for k in NAMES}, allow_nan=False) + "\n" for row in rows).encode()
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(),
                 "datetime": pa.string()}
        schema = pa.schema([(c.name, types[c.kind]) for c in COLUMNS])
        table = pa.Table.from_pylist([{k: row[k] for k in NAMES} for row in rows], schema=schema)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()
    raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def export_write(*, rows: list[dict[str, object]], fmt: str, out: Path, filters: dict[str, str]) -> Path:
    """Write the export and its datasheet (OUT.datasheet.md); returns the datasheet's path."""
    data = rows_encode(rows=rows, fmt=fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    sheet = out.with_name(out.name + ".datasheet.md")
    sheet.write_text(datasheet(rows=len(rows), filters=filters, fmt=fmt))
    return sheet


def export_read(*, path: Path) -> list[dict[str, object]]:
    """Rows of an export file, format from its suffix; ExportError if it is not one of ours."""
    fmt = path.suffix.lstrip(".").lower()
    if not path.is_file():
        raise ExportError(f"no such file: {path}")
    try:
        if fmt == "csv":
            with path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
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
