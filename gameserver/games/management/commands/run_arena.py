"""`python manage.py run_arena`: the embedded game on one machine. Migrates, imports the demo set (and the
multi-view set panoramax-multiview when PLANET_DATA_DIR holds it) and flags their panoramas near the demo
model's training photos, registers the demo model, then serves HTTP and websockets with Daphne while an
in-process Celery worker answers the model's rounds."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.inference.models import ModelVersion
from gameserver.inference.registration import ModelVersionError, model_version_register
from gameserver.panoramas.models import PanoramaSet

DEMO_SET = "osv5m-demo"
DEMO_TRAINING_SET = "yfcc-train"
DEMO_MODEL = "planet-demo"
# name -> (licence, attribution, required): the sets a start imports once.
GAME_SETS = {
    DEMO_SET: ("CC BY-SA 4.0", "OpenStreetView-5M / Mapillary contributors, CC BY-SA 4.0", True),
    "panoramax-multiview": (
        "Licence Ouverte 2.0 (Etalab)",
        "Panoramax contributors (sogefi sig, coban), Licence Ouverte 2.0",
        False,
    ),
}


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--prepare-only", action="store_true", help="set everything up, then exit")

    def handle(self, *args: object, host: str, port: int, prepare_only: bool, **options: object) -> None:
        Path(settings.PLANET_VAR_DIR).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        # Fingerprinted, gzip- and brotli-compressed static files (quick after the first run: unchanged files
        # are skipped).
        call_command("collectstatic", interactive=False, verbosity=0)
        data = Path(settings.PLANET_DATA_DIR)
        for name, (licence, attribution, required) in GAME_SETS.items():
            manifest = data / name / "manifest.csv"
            if PanoramaSet.objects.filter(name=name).exists() or not (required or manifest.is_file()):
                continue
            call_command(
                "import_panoramas",
                manifest=str(manifest),
                name=name,
                licence=licence,
                attribution=attribution,
                private=name in settings.PLANET_PRIVATE_SETS,
                check_training_manifest=str(data / DEMO_TRAINING_SET / "manifest.csv"),
            )
        if not ModelVersion.objects.filter(is_default=True).exists():
            if not Path(settings.PLANET_CHECKPOINT).is_file():
                raise CommandError(f"no model at {settings.PLANET_CHECKPOINT}: run `make demo-model` first")
            # The configured demo checkpoint, by the service: register_model reads PLANET_MODELS_DIR only.
            try:
                model_version_register(name=DEMO_MODEL, checkpoint=Path(settings.PLANET_CHECKPOINT), default=True)
            except ModelVersionError as error:
                raise CommandError(str(error)) from None
        if prepare_only:
            return

        from daphne.cli import CommandLineInterface

        from gameserver.inference.worker import embedded_worker
        from gameserver.panoramas.uploads import import_jobs_resume

        self.stdout.write(f"PlaNet Arena on http://{host}:{port}/ (in-process worker; Ctrl-C to stop)")
        with embedded_worker():
            # The in-memory broker lost the messages of imports a stopped server had not finished: ask again.
            resumed = import_jobs_resume()
            if resumed:
                self.stdout.write(f"resumed {resumed} unfinished import job(s)")
            CommandLineInterface().run(["-b", host, "-p", str(port), "gameserver.asgi:application"])
