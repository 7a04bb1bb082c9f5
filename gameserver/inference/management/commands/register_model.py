"""`python manage.py register_model --name NAME --checkpoint PATH [--kind planet|knn] [--default]`: make a trained
checkpoint (PlaNet's, or a kNN gallery from `python -m planet_engine knn-build`) an opponent players can pick. The
checkpoint must be a file in PLANET_MODELS_DIR (PATH relative to it, or absolute within it); it is checked, then
copied into the object store, and its sha256 is recorded. A NAME registered before gets a new version (NAME@v2, ...);
its old version's games keep their checkpoint. External models: register_predictions."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.inference.checkpoints import checkpoint_in_models_dir
from gameserver.inference.registration import ModelVersionError, model_version_register
from gameserver.migrated import require_migrated
from planet_engine.errors import CheckpointError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the version's name (a slug), e.g. planet-lite2-v1")
        parser.add_argument(
            "--checkpoint", required=True, help="a planet_engine checkpoint (.pt) in PLANET_MODELS_DIR, relative to it"
        )
        parser.add_argument(
            "--kind",
            default="planet",
            choices=["planet", "knn"],
            help="planet: a cell classifier (python -m planet_engine train); knn: a retrieval "
            "gallery (python -m planet_engine knn-build)",
        )
        parser.add_argument("--default", action="store_true", help="games that name no model play this one")

    def handle(
        self, *args: object, name: str, checkpoint: Path | str, default: bool, kind: str = "planet", **options: object
    ) -> None:
        require_migrated()
        try:
            path = checkpoint_in_models_dir(name=str(checkpoint))
            version = model_version_register(
                name=name, checkpoint=path, default=default, kind=kind, shown=str(checkpoint)
            )
        except CheckpointError as error:
            raise CommandError(str(error)) from None
        except ModelVersionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{version.kind} model {version.name!r} (version {version.number} of {version.family!r}): "
            f"{version.description}; "
            f"sha256 {version.checkpoint_sha256[:12]}{' (default)' if version.is_default else ''}"
        )
