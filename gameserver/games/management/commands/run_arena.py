"""`python manage.py run_arena`: the embedded game on one machine — migrate, load the demo set if it is
missing, start an in-process Celery worker and serve HTTP + websockets with Daphne."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from gameserver.panoramas.models import PanoramaSet

DEMO_SET = "osv5m-demo"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        from daphne.cli import CommandLineInterface

        from gameserver.inference.worker import embedded_worker

        Path(settings.PLANET_VAR_DIR).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        if not PanoramaSet.objects.filter(name=DEMO_SET).exists():
            manifest = Path(settings.PLANET_DATA_DIR) / DEMO_SET / "manifest.csv"
            call_command("import_panoramas", manifest=str(manifest), name=DEMO_SET,
                         licence="CC BY-SA 4.0",
                         attribution="OpenStreetView-5M / Mapillary contributors, CC BY-SA 4.0")
        if not Path(settings.PLANET_CHECKPOINT).is_file():
            self.stderr.write(f"no model at {settings.PLANET_CHECKPOINT}: run `make demo-model` first")
            return
        self.stdout.write(f"PlaNet Arena on http://{host}:{port}/ (in-process worker, Ctrl-C to stop)")
        with embedded_worker():
            CommandLineInterface().run(["-b", host, "-p", str(port), "gameserver.asgi:application"])
