"""`python manage.py check_training_leaks --set NAME --training-manifest PATH`: flag the set's panoramas
that lie within --radius-km (default 1) of a photo the model was trained on."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.panoramas.leaks import panorama_set_flag_training_leaks
from gameserver.panoramas.models import PanoramaSet


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--set", required=True, dest="set_name", help="the panorama set's name")
        parser.add_argument("--training-manifest", required=True, type=Path,
                            help="the manifest the model was trained on (only its coordinates are read)")
        parser.add_argument("--radius-km", type=float, default=1.0)

    def handle(self, *args: object, set_name: str, training_manifest: Path | str, radius_km: float,
               **options: object) -> None:
        try:
            panorama_set = PanoramaSet.objects.get(name=set_name)
        except PanoramaSet.DoesNotExist:
            raise CommandError(f"no panorama set named {set_name!r}") from None
        try:
            flagged = panorama_set_flag_training_leaks(panorama_set=panorama_set,
                                                       training_manifest=Path(training_manifest),
                                                       radius_km=radius_km)
        except ValueError as error:  # a bad manifest (ManifestError) or radius
            raise CommandError(str(error)) from None
        total = panorama_set.panoramas.count()
        self.stdout.write(f"{flagged} of {total} panoramas in {set_name!r} lie within {radius_km:g} km of a "
                          f"training photo and are flagged (excluded from statistics)")
