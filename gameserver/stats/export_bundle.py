"""The web export as one download: a zip holding the rows and their datasheet (the same the export command writes
beside its file, from columns.datasheet), named by the filters that made it."""

from __future__ import annotations

import io
import re
import zipfile

from gameserver.stats.columns import datasheet
from gameserver.stats.exports import rows_encode

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
# Filters worth naming in a file name, in this order (games and players lists would make it unreadable).
_NAMED = ("set", "model", "mode", "tier", "suspicious", "since", "until")


def export_file_stem(*, filters: dict[str, str]) -> str:
    """rounds_set-s_model-planet@v2_tier-verified: what the download holds, readable in a folder of them."""
    parts = ["rounds", *(f"{name}-{_UNSAFE.sub('-', filters[name])[:60]}" for name in _NAMED if filters.get(name))]
    return "_".join(parts)


def export_bundle(*, rows: list[dict[str, object]], fmt: str, filters: dict[str, str]) -> tuple[str, bytes]:
    """The zip's file name and bytes: STEM.FMT and STEM.FMT.datasheet.md inside."""
    stem = export_file_stem(filters=filters)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{stem}.{fmt}", rows_encode(rows=rows, fmt=fmt))
        bundle.writestr(f"{stem}.{fmt}.datasheet.md", datasheet(rows=len(rows), filters=filters, fmt=fmt))
    return f"{stem}.zip", buffer.getvalue()
