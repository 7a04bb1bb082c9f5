"""Panorama sets and their images. A panorama's location is server-side only; clients see `public_id`."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from gameserver.public_ids import new_public_id


def default_exposure_budget() -> int:
    return int(settings.PLANET_EXPOSURE_BUDGET)


class PanoramaSet(models.Model):
    class Status(models.TextChoices):
        # Draft: staff see and play it, players do not; published: in the lobby and new games; retired: out of
        # the lobby and new games, its rounds kept for the benchmark's history (panoramas/lifecycle.py).
        DRAFT = "draft", "Draft (staff only)"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired (kept for history)"

    class Provenance(models.TextChoices):
        # Public: its photos are published anywhere (a perceptual hash finds each one), so its rounds are never
        # verified. Private: the admin asserts at import that the photos are not published.
        PUBLIC = "public", "Public (its photos are published)"
        PRIVATE = "private", "Private (its photos are not published)"

    name = models.SlugField(max_length=100, unique=True)
    licence = models.CharField(max_length=200, blank=True)
    attribution = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    provenance = models.CharField(max_length=10, choices=Provenance.choices, default=Provenance.PUBLIC)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # How many identities a panorama's truth may be revealed to before its rounds leave the verified tier.
    exposure_budget = models.PositiveIntegerField(default=default_exposure_budget)
    # Measured at import (panoramas.services.panorama_set_measure): the set prior, a fixed guess at the
    # geometric median of its places, and the spread, the median great-circle km from it to a place.
    prior_latitude = models.FloatField(null=True, blank=True)
    prior_longitude = models.FloatField(null=True, blank=True)
    spread_km = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Panorama(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", "Photo"
        EQUIRECTANGULAR = "equirectangular", "360° equirectangular panorama"
        # Several photos of one place (manifest rows sharing a place_id): its PanoramaView rows.
        MULTIVIEW = "multiview", "Several views of one place"

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    panorama_set = models.ForeignKey(PanoramaSet, on_delete=models.CASCADE, related_name="panoramas")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PHOTO)
    # Re-encoded JPEG without metadata, stored under PANORAMA_STORAGE_DIR by public_id (a multi-view place: its
    # first view's image and file, so whatever shows one picture of a panorama still can).
    image_name = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    content_sha256 = models.CharField(max_length=64)  # of the served (re-encoded) bytes
    source_sha256 = models.CharField(max_length=64)  # of the imported file, for duplicate detection
    source_file = models.CharField(max_length=500)
    latitude = models.FloatField()
    longitude = models.FloatField()
    heading = models.FloatField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    continent = models.CharField(max_length=40, blank=True)
    licence = models.CharField(max_length=200, blank=True)
    attribution = models.TextField(blank=True)
    # Set by the leak check: within 1 km of a photo the model was trained on; excluded from statistics.
    near_training_photo = models.BooleanField(default=False)
    nearest_training_km = models.FloatField(null=True, blank=True)
    # Retired by staff: it leaves new games and the verified tier; its past rounds keep their history.
    retired = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["panorama_set", "source_sha256"], name="unique_image_per_set"),
        ]

    def __str__(self) -> str:
        return f"{self.panorama_set.name}/{self.public_id}"


class PanoramaView(models.Model):
    """One photo of a multi-view place, in the manifest's order. Like a panorama's image it is stored re-encoded,
    without metadata, under a random name; its location is the panorama's."""

    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="views")
    index = models.PositiveSmallIntegerField()  # 0-based, the manifest's order; 0 opens the round
    name = models.CharField(max_length=40)  # the manifest's `view` ("front"), else "view N"
    heading = models.FloatField(null=True, blank=True)  # compass degrees the view faces
    image_name = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    content_sha256 = models.CharField(max_length=64)
    source_sha256 = models.CharField(max_length=64)
    source_file = models.CharField(max_length=500)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["panorama", "index"], name="unique_view_index")]
        ordering = ["panorama", "index"]

    def __str__(self) -> str:
        return f"{self.panorama}#{self.index} {self.name}"


class TrainingLeakCheck(models.Model):
    """One panorama measured against one model version's training photos (panoramas/leaks.py): the km to the
    nearest, and whether that is within the leak radius. The panorama's own near_training_photo says whether any
    registered version's check found it near."""

    model_version = models.ForeignKey("inference.ModelVersion", on_delete=models.CASCADE, related_name="leak_checks")
    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="leak_checks")
    nearest_km = models.FloatField()
    near = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model_version", "panorama"], name="one_leak_check_per_pair")]


class ImportJob(models.Model):
    """An uploaded set imported in the background (panoramas/jobs.py): its archive waits in the object store until
    a worker has run it; its page shows the progress, then the set's summary or every problem."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    # The import's parameters, as the upload form took them.
    name = models.SlugField(max_length=100)
    licence = models.CharField(max_length=200, blank=True)
    attribution = models.TextField(blank=True)
    kind = models.CharField(max_length=20, blank=True)
    private = models.BooleanField(default=False)
    archive_key = models.CharField(max_length=200)  # in the object store until the job ends
    archive_name = models.CharField(max_length=200, blank=True)  # as uploaded, for the page
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=20, blank=True)  # "checked" or "written" (services.Progress)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    panorama_set = models.ForeignKey(
        PanoramaSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_jobs"
    )

    def __str__(self) -> str:
        return f"import of {self.name} ({self.status})"
