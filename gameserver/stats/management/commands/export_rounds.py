"""`python manage.py export_rounds --format csv|jsonl|parquet --out PATH [--set S] [--model M] [--mode MODE]
[--since ISO] [--until ISO]`: every locked player-round as one row, with a datasheet beside the file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from gameserver.stats.exports import FORMATS, export_write
from gameserver.stats.selectors import Filters, round_rows


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    parsed = parse_datetime(text)
    if parsed is None:
        raise CommandError(f"{text!r} is not an ISO 8601 date-time")
    return parsed


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--set", default="", dest="panorama_set")
        parser.add_argument("--model", default="")
        parser.add_argument("--mode", default="")
        parser.add_argument("--since", default=None)
        parser.add_argument("--until", default=None)

    def handle(
        self,
        *args: object,
        fmt: str,
        out: Path | str,
        panorama_set: str,
        model: str,
        mode: str,
        since: str | None,
        until: str | None,
        **options: object,
    ) -> None:
        filters = Filters(panorama_set=panorama_set, model=model, mode=mode, since=_when(since), until=_when(until))
        rows = round_rows(filters=filters)
        sheet = export_write(rows=rows, fmt=fmt, out=Path(out), filters=filters.as_dict())
        counted = sum(bool(row["counted"]) for row in rows)
        self.stdout.write(f"{len(rows)} player-rounds ({counted} counted) written to {out}; datasheet {sheet}")
