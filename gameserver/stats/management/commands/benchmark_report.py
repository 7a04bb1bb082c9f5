"""`python manage.py benchmark_report --input EXPORT [--json OUT] [--tier verified|open]`: every benchmark table
recomputed from an export file alone (no database), printed, the verified tier first, then the open one; the same
numbers as the stats page for the same rounds. --json writes {"verified": tables, "open": tables}, or the one
tier's tables when --tier names it (the shape of /api/stats/benchmark?tier=...)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.stats.exports import ExportError, export_frame
from gameserver.stats.render import render_text
from gameserver.stats.report import benchmark_of_frame
from gameserver.stats.tiers import TIERS


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", type=Path, required=True, dest="path")
        parser.add_argument("--json", type=Path, default=None, dest="json_out")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--anchor-model",
            default=None,
            help="fix this model's rating at 1500 instead of the export's rating_anchor (the default "
            "model, as on the page); the report then says the anchor was named",
        )
        parser.add_argument(
            "--tier", choices=TIERS, default=None, help="only this tier (default: both, verified first)"
        )
        parser.add_argument(
            "--include-suspicious",
            action="store_true",
            help="count rounds flagged as suspicious too (left out by default)",
        )

    def handle(
        self,
        *args: object,
        path: Path | str,
        json_out: Path | None,
        seed: int,
        include_suspicious: bool = False,
        anchor_model: str | None = None,
        tier: str | None = None,
        **options: object,
    ) -> None:
        try:
            frame = export_frame(path=Path(path))
        except ExportError as error:
            raise CommandError(str(error)) from None
        report = {
            name: benchmark_of_frame(
                frame, seed=seed, include_suspicious=include_suspicious, anchor_model=anchor_model, tier=name
            )
            for name in ((tier,) if tier else TIERS)
        }
        for tables in report.values():
            self.stdout.write(render_text(tables=tables))
            self.stdout.write(f"excluded: {tables['excluded'] or 'none'} of {tables['player_rounds']} player-rounds")
        if json_out:
            Path(json_out).write_text(json.dumps(report[tier] if tier else report, indent=2))
