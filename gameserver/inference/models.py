"""Model versions players can be matched against, and the stored guesses of models registered by their
predictions.

Three kinds: a PlaNet checkpoint and a kNN retrieval checkpoint (planet_engine/knn.py) are run by the worker on
the exact bytes each round serves; an external model (GeoCLIP, PIGEON, anything trained elsewhere) is registered
by uploading its predictions for a set, made on the dataset's original files, and answers from those rows."""

from __future__ import annotations

from django.db import models

from gameserver.panoramas.models import Panorama


class ModelView(models.TextChoices):
    """Which image a model's guess was made on."""

    SERVED = "served", "the round's served bytes"
    ORIGINAL = "original", "the dataset's original file"


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        PLANET = "planet", "PlaNet cell classifier"
        KNN = "knn", "kNN retrieval (im2gps)"
        EXTERNAL = "external", "external predictions"

    # The name a model is registered under is its family; registering it again adds a version (number 2, 3, ...)
    # named "family@vN", so the old version's games keep pointing at the old checkpoint and the tables and
    # exports, which name a version by `name`, tell them apart. A family's first version is named as the family.
    name = models.CharField(max_length=110, unique=True)
    family = models.SlugField(max_length=100)
    number = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PLANET)
    # A checkpoint (planet, knn) or the predictions file an external model was registered from.
    checkpoint_path = models.CharField(max_length=500)
    # The file's sha256 at registration; the worker refuses a checkpoint that no longer matches it.
    checkpoint_sha256 = models.CharField(max_length=64)
    description = models.CharField(max_length=300, blank=True)  # backbone, cells, training manifest
    # The fingerprint (planet_engine Manifest.fingerprint) of the manifest it was trained on, as the checkpoint
    # records it, and whether that manifest's places are in the store for the training-leak check (leaks.py).
    train_manifest_sha256 = models.CharField(max_length=64, blank=True)
    training_places_stored = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_model_version"
            ),
            models.UniqueConstraint(fields=["family", "number"], name="one_number_per_model_version"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.family = self.family or self.name
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def version_name(*, family: str, number: int) -> str:
        return family if number == 1 else f"{family}@v{number}"

    @property
    def view(self) -> str:
        """What the model sees of a round: external predictions were made on the original files."""
        return ModelView.ORIGINAL if self.kind == self.Kind.EXTERNAL else ModelView.SERVED


class ExternalPrediction(models.Model):
    """An external model's guess on one panorama, as uploaded (register_predictions)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="external_predictions")
    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="external_predictions")
    latitude = models.FloatField()
    longitude = models.FloatField()
    # As a round stores its model's cells: token, probability, the cell's centre and outline, most probable first.
    top_cells = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_version", "panorama"], name="one_prediction_per_model_panorama")
        ]
