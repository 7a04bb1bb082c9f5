"""`python manage.py import_panoramas --manifest PATH --name NAME`: import a manifest as a new panorama set,
every row or none; rejected rows go to stderr, one per line."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.migrated import require_migrated
from gameserver.objectstore import storage_describe
from gameserver.panoramas.leaks import panorama_set_flag_training_leaks
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import IMPORT_KIND_VALUES, PanoramaImportError, panorama_set_import
from planet_engine.manifest import ManifestError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--manifest", required=True, type=Path, help="CSV: file, latitude, longitude, ...")
        parser.add_argument("--name", required=True, help="the new set's name (a slug)")
        parser.add_argument("--licence", default="", help="the set's licence; a row's licence column wins")
        parser.add_argument("--attribution", default="", help="the set's credit; a row's attribution column wins")
        parser.add_argument(
            "--kind",
            choices=IMPORT_KIND_VALUES,
            default=None,
            help="kind of rows without a kind column value (default photo)",
        )
        parser.add_argument(
            "--private",
            action="store_true",
            help="assert the photos are published nowhere else; only a private set's rounds can be "
            "verified (a public set's photos can be looked up by a perceptual hash)",
        )
        parser.add_argument(
            "--draft", action="store_true", help="import as a draft: staff see and play it; publish it in the admin"
        )
        parser.add_argument(
            "--check-training-manifest",
            type=Path,
            default=None,
            help="after importing, flag panoramas within 1 km of this manifest's photos",
        )

    def handle(
        self,
        *args: object,
        manifest: Path | str,
        name: str,
        licence: str,
        attribution: str,
        kind: str | None,
        check_training_manifest: Path | str | None,
        verbosity: int = 1,
        private: bool = False,
        draft: bool = False,
        **options: object,
    ) -> None:
        require_migrated()
        if check_training_manifest is not None and not Path(check_training_manifest).is_file():
            raise CommandError(f"training manifest not found: {check_training_manifest}")
        try:
            report = panorama_set_import(
                manifest_path=Path(manifest),
                name=name,
                licence=licence,
                attribution=attribution,
                kind=kind,
                private=private,
                status=PanoramaSet.Status.DRAFT if draft else PanoramaSet.Status.PUBLISHED,
                progress=self._progress if verbosity >= 1 else None,
            )
        except PanoramaImportError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(error.problems)} problem(s) in {manifest}; nothing was imported") from None
        measured = PanoramaSet.objects.get(pk=report.set_id)
        self.stdout.write(
            f"imported set {name!r} (id {report.set_id}, {measured.provenance}, {measured.status}): "
            f"{report.summary()}; images in {storage_describe()}; set prior "
            f"({measured.prior_latitude:.4f}, {measured.prior_longitude:.4f}), spread "
            f"{measured.spread_km:,.1f} km"
        )
        if check_training_manifest is not None:
            panorama_set = PanoramaSet.objects.get(pk=report.set_id)
            try:
                flagged = panorama_set_flag_training_leaks(
                    panorama_set=panorama_set, training_manifest=Path(check_training_manifest)
                )
            except ManifestError as error:
                raise CommandError(f"set {name!r} was imported but the leak check failed: {error}") from None
            self.stdout.write(
                f"{flagged} of {report.count} panoramas lie within 1 km of a training photo "
                f"of {check_training_manifest} and are flagged (excluded from statistics)"
            )

    def _progress(self, stage: str, done: int, total: int) -> None:
        if done == total or done % 100 == 0:
            self.stderr.write(f"{stage} {done}/{total}")
