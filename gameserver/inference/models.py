"""Model versions players can be matched against: a registered checkpoint and the hash it was registered with."""

from __future__ import annotations

from django.db import models


class ModelVersion(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    checkpoint_path = models.CharField(max_length=500)
    # The file's sha256 at registration; the worker refuses a file that no longer matches it.
    checkpoint_sha256 = models.CharField(max_length=64)
    description = models.CharField(max_length=300, blank=True)  # backbone, cells, training manifest
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_model_version")]

    def __str__(self) -> str:
        return self.name
