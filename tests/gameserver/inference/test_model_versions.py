"""A model's versions: registering under a taken name adds a version (the old one's games keep pointing at it, the
tables name each), the same file again adds none, each registration is in the admin's history, and a file that is
no checkpoint is refused in words an admin can act on (no store path, no loader's advice)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gameserver.games.selectors import model_version_get, model_version_list
from gameserver.games.services import game_create
from gameserver.inference.models import ModelVersion
from gameserver.inference.registration import ModelVersionError, model_version_register, model_version_register_upload
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from planet_engine.checkpoint import read_payload, save_checkpoint

pytestmark = pytest.mark.django_db

REGISTER_URL = "/admin/inference/modelversion/register/"


@pytest.fixture
def retrained(tiny_checkpoint: Path, tmp_path: Path) -> Path:
    """Another checkpoint of the same model (its bytes differ: a new training run would)."""
    payload, _ = read_payload(tiny_checkpoint)
    payload["git_sha"] = "retrained"
    out = tmp_path / "retrained.pt"
    save_checkpoint(out, payload)
    return out


def test_registering_a_taken_name_adds_a_version_and_old_games_keep_the_old_one(
    synthetic_test, tiny_checkpoint, retrained
):
    first = model_version_register(name="planet", checkpoint=tiny_checkpoint, default=True)
    panorama_set = PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="s").set_id)
    old_game = game_create(panorama_set=panorama_set, owner_key="guest:a", rounds=1)
    second = model_version_register(name="planet", checkpoint=retrained)
    assert second.pk != first.pk and (second.family, second.number) == ("planet", 2)
    assert second.name == "planet@v2" and second.checkpoint_sha256 != first.checkpoint_sha256
    first.refresh_from_db()
    assert first.name == "planet" and first.checkpoint_sha256 != second.checkpoint_sha256
    old_game.refresh_from_db()
    assert old_game.model_version_id == first.pk  # its rounds' history is the old checkpoint's
    assert second.is_default and not first.is_default  # the default moves to the new version
    assert game_create(panorama_set=panorama_set, owner_key="guest:b", rounds=1).model_version_id == second.pk
    assert model_version_get(name="planet").pk == second.pk and model_version_get(name="planet@v2").pk == second.pk
    assert [(m["name"], m["version"]) for m in model_version_list()] == [("planet@v2", 2)]


def test_the_same_file_again_adds_no_version(tiny_checkpoint):
    first = model_version_register(name="planet", checkpoint=tiny_checkpoint)
    assert model_version_register(name="planet", checkpoint=tiny_checkpoint).pk == first.pk
    assert ModelVersion.objects.count() == 1


def test_each_admin_registration_is_in_the_history_with_its_version(admin_client: Client, tiny_checkpoint, retrained):
    for path in (tiny_checkpoint, retrained):
        response = admin_client.post(
            REGISTER_URL, {"name": "planet", "checkpoint": SimpleUploadedFile("model.pt", path.read_bytes())}
        )
        assert response.status_code == 302
    entries = LogEntry.objects.order_by("pk")
    assert [entry.object_repr for entry in entries] == ["planet", "planet@v2"]
    assert all(entry.is_addition() and "sha256" in entry.change_message for entry in entries)
    listing = admin_client.get("/admin/inference/modelversion/").content.decode()
    assert "planet@v2" in listing


@pytest.mark.parametrize(
    "payload",
    [
        {"format": "planet-engine/1"},
        {"format": "planet-engine/1", "config": {}},
        {"format": "planet-engine/1", "cells": [], "cells_sha256": "x", "config": None},
    ],
)
def test_a_tagged_file_that_is_no_whole_checkpoint_is_refused_plainly(payload, tmp_path, settings):
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with pytest.raises(ModelVersionError) as refused:
        model_version_register_upload(name="probe", upload=SimpleUploadedFile("mine.pt", buffer.getvalue()))
    message = str(refused.value)
    assert message.startswith("mine.pt") and ("is not a planet checkpoint" in message or "cells" in message)
    assert str(settings.PANORAMA_STORAGE_DIR) not in message and "checkpoints/" not in message
    assert "weights_only" not in message and not ModelVersion.objects.exists()


def test_a_file_that_is_no_checkpoint_at_all_is_refused_by_its_name_only(tmp_path):
    with pytest.raises(ModelVersionError) as refused:
        model_version_register_upload(name="probe", upload=SimpleUploadedFile("notes.txt", b"just some notes"))
    assert str(refused.value) == "notes.txt is not a planet checkpoint (python -m planet_engine train writes one)"
