"""`python manage.py check_training_leaks --model NAME --training-manifest PATH`: store the places of the photos a
registered model version was trained on (the manifest must be the one its checkpoint records) and measure every
set against them; imports check each new set against them from then on.

`--set NAME --training-manifest PATH [--radius-km KM]`: flag one set's panoramas near the photos of a manifest
that belongs to no registered model."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.inference.leaks import model_version_leak_check, training_places_from_manifest
from gameserver.inference.models import ModelVersion
from gameserver.migrated import require_migrated
from gameserver.panoramas.leaks import LEAK_RADIUS_KM, panorama_set_flag_training_leaks
from gameserver.panoramas.models import Panorama, PanoramaSet


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--model", help="a registered model version's name (its training places are kept)")
        target.add_argument("--set", dest="set_name", help="one panorama set, against a manifest of no model")
        parser.add_argument(
            "--training-manifest",
            required=True,
            type=Path,
            help="the manifest the model was trained on (only its coordinates are read)",
        )
        parser.add_argument("--radius-km", type=float, default=LEAK_RADIUS_KM, help="with --set only")

    def handle(
        self,
        *args: object,
        model: str | None,
        set_name: str | None,
        training_manifest: Path | str,
        radius_km: float,
        **options: object,
    ) -> None:
        require_migrated()
        try:
            if model is not None:
                self._model(model, Path(training_manifest))
            else:
                self._set(str(set_name), Path(training_manifest), radius_km)
        except ValueError as error:  # a bad manifest (ManifestError), the wrong one, or a bad radius
            raise CommandError(str(error)) from None

    def _model(self, name: str, manifest: Path) -> None:
        version = ModelVersion.objects.filter(name=name).first()
        if version is None:
            raise CommandError(f"no model version named {name!r}")
        photos = training_places_from_manifest(version=version, manifest=manifest)
        flagged = model_version_leak_check(version=version)
        self.stdout.write(
            f"{flagged} of {Panorama.objects.count()} panoramas lie within {LEAK_RADIUS_KM:g} km of "
            f"one of the {photos} photos {name!r} was trained on and are flagged (excluded from "
            "statistics); new imports are checked against them too"
        )

    def _set(self, set_name: str, manifest: Path, radius_km: float) -> None:
        try:
            panorama_set = PanoramaSet.objects.get(name=set_name)
        except PanoramaSet.DoesNotExist:
            raise CommandError(f"no panorama set named {set_name!r}") from None
        flagged = panorama_set_flag_training_leaks(
            panorama_set=panorama_set, training_manifest=manifest, radius_km=radius_km
        )
        total = panorama_set.panoramas.count()
        self.stdout.write(
            f"{flagged} of {total} panoramas in {set_name!r} lie within {radius_km:g} km of a "
            f"training photo and are flagged (excluded from statistics)"
        )
