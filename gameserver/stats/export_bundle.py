"""The web export as one download: a zip holding the rows, their datasheet and their Croissant description (the same
the export command writes beside its file: stats.datasheet), named by the filters that made it."""

from __future__ import annotations

import io
import json
import re
import zipfile

from gameserver.stats.datasheet import croissant, datasheet
from gameserver.stats.exports import rows_encode

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
# Filters worth naming in a file name, in this order (games and players lists would make it unreadable).
_NAMED = ("set", "model", "mode", "tier", "suspicious", "since", "until")


def export_file_stem(*, filters: dict[str, str]) -> str:
    """rounds_set-s_model-planet@v2_tier-verified: what the download holds, readable in a folder of them."""
    parts = ["rounds", *(f"{name}-{_UNSAFE.sub('-', filters[name])[:60]}" for name in _NAMED if filters.get(name))]
    return "_".join(parts)


def export_bundle(*, rows: list[dict[str, object]], fmt: str, filters: dict[str, str]) -> tuple[str, bytes]:
    """The zip's file name and bytes: STEM.FMT, STEM.FMT.datasheet.md and STEM.FMT.croissant.json inside."""
    stem = export_file_stem(filters=filters)
    data = rows_encode(rows=rows, fmt=fmt)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{stem}.{fmt}", data)
        bundle.writestr(f"{stem}.{fmt}.datasheet.md", datasheet(rows=len(rows), filters=filters, fmt=fmt, records=rows))
        bundle.writestr(
            f"{stem}.{fmt}.croissant.json",
            json.dumps(croissant(name=f"{stem}.{fmt}", data=data, fmt=fmt, rows=len(rows), filters=filters), indent=2),
        )
    return f"{stem}.zip", buffer.getvalue()
