"""`python manage.py register_predictions --name NAME --set SET --file PREDICTIONS.csv|.jsonl [--default]`: make a
model trained elsewhere (GeoCLIP, PIGEON, ...) an opponent by its predictions for a set's panoramas (rows keyed by
the manifest's file names; see gameserver/inference/external.py for the format). A file with any bad row is
refused whole, every bad row named."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.inference.external import (
    PredictionsError,
    external_predictions_register,
    predictions_file_read,
)
from gameserver.migrated import require_migrated
from gameserver.panoramas.models import PanoramaSet


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the model's name (a slug), e.g. geoclip")
        parser.add_argument("--set", required=True, help="the panorama set predicted")
        parser.add_argument("--file", required=True, type=Path, help="predictions: .csv or .jsonl")
        parser.add_argument("--description", default="", help="what the model is (shown in the lobby)")
        parser.add_argument("--default", action="store_true", help="games that name no model play this one")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="accept a file that predicts only part of the set (its games play only that part)",
        )

    def handle(
        self,
        *args: object,
        name: str,
        file: Path | str,
        description: str = "",
        default: bool = False,
        partial: bool = False,
        **options: object,
    ) -> None:
        require_migrated()
        set_name = str(options["set"])  # `set` is a builtin's name: not a parameter
        found = PanoramaSet.objects.filter(name=set_name).first()
        if found is None:
            raise CommandError(f"no panorama set named {set_name!r}")
        path = Path(file)
        try:
            version = external_predictions_register(
                name=name,
                panorama_set=found,
                data=predictions_file_read(path=path),
                file_name=path.name,
                source=str(path.resolve()),
                default=default,
                description=description,
                partial=partial,
            )
        except PredictionsError as error:
            raise CommandError(str(error)) from None
        count = version.external_predictions.filter(panorama__panorama_set=found).count()
        self.stdout.write(
            f"external model {version.name!r}: {count} panoramas of {found.name} predicted "
            f"(of {found.panoramas.count()}); sha256 {version.checkpoint_sha256[:12]}"
            f"{' (default)' if version.is_default else ''}"
        )
