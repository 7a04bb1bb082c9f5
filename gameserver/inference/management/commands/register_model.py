"""`python manage.py register_model --name NAME --checkpoint PATH [--default]`: make a trained checkpoint an
opponent players can pick. The checkpoint is loaded once to check it, and its sha256 is recorded."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.inference.services import ModelVersionError, model_version_register


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the version's name (a slug), e.g. planet-lite2-v1")
        parser.add_argument("--checkpoint", required=True, type=Path, help="a planet_engine checkpoint (.pt)")
        parser.add_argument("--default", action="store_true", help="games that name no model play this one")

    def handle(self, *args: object, name: str, checkpoint: Path | str, default: bool, **options: object) -> None:
        try:
            version = model_version_register(name=name, checkpoint=Path(checkpoint), default=default)
        except ModelVersionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"model {version.name!r}: {version.description}; sha256 {version.checkpoint_sha256[:12]}"
                          f"{' (default)' if version.is_default else ''}")
