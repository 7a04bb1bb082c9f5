"""Registering a checkpoint reads only what an operator put in PLANET_MODELS_DIR (the command) or uploaded (the
admin): any other file on the server is refused with one message that says nothing about it (whether it exists,
its hash, its bytes), and nothing that is not a checkpoint of the asked kind reaches the object store."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from gameserver.inference.checkpoints import checkpoint_key
from gameserver.inference.models import ModelVersion
from gameserver.objectstore import object_exists

pytestmark = pytest.mark.django_db

REGISTER_URL = "/admin/inference/modelversion/register/"
# What the installation's secret key file once gave back: "...corrupt or not a checkpoint: 1749645880".
SECRET = b"1749645880-not-for-anyone-s-eyes"


@pytest.fixture
def models_dir(tmp_path: Path, settings) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    settings.PLANET_MODELS_DIR = folder
    return folder


def refusal(**options: object) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("register_model", name="probe", **options)
    return str(refused.value)


def test_the_command_refuses_any_file_outside_the_models_dir_alike(models_dir, tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_bytes(SECRET)
    (models_dir / "link.pt").symlink_to(secret)
    names = [str(secret), "../secret_key", "link.pt", str(tmp_path / "nothing-here.pt"), "../nothing-here.pt"]
    messages = {refusal(checkpoint=name).replace(repr(name), "NAME") for name in names}
    assert len(messages) == 1, messages  # the same words whether the file exists or not
    for message in messages:
        assert "PLANET_MODELS_DIR" in message and "1749645880" not in message
        assert hashlib.sha256(SECRET).hexdigest()[:8] not in message
    assert not object_exists(key=checkpoint_key(sha256=hashlib.sha256(SECRET).hexdigest()))
    assert not ModelVersion.objects.exists()


def test_a_file_in_the_models_dir_that_is_no_checkpoint_is_refused_before_it_is_stored(models_dir):
    (models_dir / "notes.pt").write_bytes(SECRET)
    message = refusal(checkpoint="notes.pt")
    assert "notes.pt is not a planet checkpoint" in message and "1749645880" not in message
    assert not object_exists(key=checkpoint_key(sha256=hashlib.sha256(SECRET).hexdigest()))


def test_a_checkpoint_of_the_other_kind_is_refused_before_it_is_stored(models_dir, tiny_checkpoint):
    shutil.copy(tiny_checkpoint, models_dir / "planet.pt")
    assert "planet.pt is a planet checkpoint, not a knn one" in refusal(checkpoint="planet.pt", kind="knn")
    assert not object_exists(key=checkpoint_key(sha256=hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()))


def test_the_command_registers_a_checkpoint_named_within_the_models_dir(models_dir, tiny_checkpoint):
    (models_dir / "v1").mkdir()
    shutil.copy(tiny_checkpoint, models_dir / "v1" / "model.pt")
    call_command("register_model", name="tiny-v1", checkpoint="v1/model.pt")
    version = ModelVersion.objects.get(name="tiny-v1")
    assert version.checkpoint_sha256 == hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()


def test_the_admin_takes_a_checkpoint_only_as_an_upload_checked_before_it_is_kept(
    admin_client, tiny_checkpoint, tmp_path, settings
):
    secret = tmp_path / "secret_key"
    secret.write_bytes(SECRET)
    by_path = admin_client.post(REGISTER_URL, {"name": "probe", "checkpoint": str(secret)})
    assert by_path.status_code == 400 and "1749645880" not in by_path.content.decode()

    not_one = admin_client.post(REGISTER_URL, {"name": "probe", "checkpoint": SimpleUploadedFile("notes.pt", SECRET)})
    assert not_one.status_code == 400 and "notes.pt" in not_one.content.decode()
    assert "1749645880" not in not_one.content.decode()
    assert not object_exists(key=checkpoint_key(sha256=hashlib.sha256(SECRET).hexdigest()))

    data = tiny_checkpoint.read_bytes()
    settings.PLANET_CHECKPOINT_UPLOAD_MAX_BYTES = len(data) - 1
    too_big = admin_client.post(REGISTER_URL, {"name": "tiny", "checkpoint": SimpleUploadedFile("model.pt", data)})
    assert too_big.status_code == 400 and "PLANET_CHECKPOINT_UPLOAD_MAX_BYTES" in too_big.content.decode()
    assert not ModelVersion.objects.exists()

    settings.PLANET_CHECKPOINT_UPLOAD_MAX_BYTES = len(data)
    registered = admin_client.post(REGISTER_URL, {"name": "tiny", "checkpoint": SimpleUploadedFile("model.pt", data)})
    assert registered.status_code == 302
    assert ModelVersion.objects.get().checkpoint_sha256 == hashlib.sha256(data).hexdigest()
