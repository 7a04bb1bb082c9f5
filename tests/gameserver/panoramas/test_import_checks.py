"""Every import path runs the same checks: all of a manifest's problems in one pass (the CSV's, the images', the
set name's), and the training-leak check against every registered model version, stored per version, whether the
set came through the command or the admin's upload, or was there before the model."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from gameserver.inference.registration import model_version_register
from gameserver.panoramas.models import Panorama, PanoramaSet, TrainingLeakCheck
from gameserver.panoramas.services import PanoramaImportError, panorama_set_import
from tests.conftest import zip_of

pytestmark = pytest.mark.django_db

UPLOAD_URL = "/admin/panoramas/panoramaset/upload/"


def test_a_bad_manifest_lists_every_problem_in_one_pass(source, tmp_storage, stored_files):
    panorama_set_import(
        manifest_path=source.manifest([{"file": source.image("x.jpg", seed=9), "latitude": 1, "longitude": 2}]),
        name="taken",
    )
    rows = [
        {"file": source.image("a.jpg", seed=1), "latitude": 95, "longitude": 2},  # 2: CSV, latitude
        {"file": "gone.jpg", "latitude": 1, "longitude": 2},  # 3: CSV, missing file
        {"file": source.bytes("c.jpg", b"not an image"), "latitude": 1, "longitude": 2},  # 4: image
        {"file": source.image("d.jpg", seed=4), "latitude": "north", "longitude": 2},  # 5: CSV
        {"file": source.image("e.jpg", seed=1), "latitude": 1, "longitude": 2},  # 6: good
        {"file": source.bytes("f.jpg", b"\xff\xd8 truncated"), "latitude": 1, "longitude": 2},  # 7: image
        {"file": source.image("g.jpg", seed=7), "latitude": 3, "longitude": 4, "heading": "up"},  # 8: column
    ]
    with pytest.raises(PanoramaImportError) as refused:
        panorama_set_import(manifest_path=source.manifest(rows), name="taken")
    problems = refused.value.problems
    assert problems[0] == "a panorama set named 'taken' already exists"
    assert [problem.split(":")[0] for problem in problems[1:]] == [f"line {n}" for n in (2, 3, 4, 5, 7, 8)]
    assert PanoramaSet.objects.count() == 1 and len(stored_files()) == 1


def test_an_admin_upload_of_a_models_training_photos_is_flagged_for_that_version(
    synthetic_train, tiny_checkpoint, tmp_storage, django_capture_on_commit_callbacks
):
    version = model_version_register(name="tiny", checkpoint=tiny_checkpoint, default=True)
    assert version.training_places_stored and len(version.train_manifest_sha256) == 64
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    with django_capture_on_commit_callbacks(execute=True):  # the upload's job runs once the request commits
        response = client.post(
            UPLOAD_URL,
            {
                "name": "leaky",
                "archive": SimpleUploadedFile(
                    "set.zip", zip_of(synthetic_train.parent), content_type="application/zip"
                ),
            },
        )
    assert response.status_code == 302, response.content.decode()[-2000:]
    panoramas = Panorama.objects.filter(panorama_set__name="leaky")
    assert panoramas.count() > 0 and not panoramas.filter(near_training_photo=False).exists()
    checks = TrainingLeakCheck.objects.filter(model_version=version, panorama__in=panoramas)
    assert checks.count() == panoramas.count() and all(check.near and check.nearest_km < 0.01 for check in checks)


def test_a_model_registered_after_a_set_is_checked_against_it(
    synthetic_train, synthetic_test, tiny_checkpoint, tmp_storage
):
    panorama_set_import(manifest_path=synthetic_train, name="train-photos")
    panorama_set_import(manifest_path=synthetic_test, name="test-photos")
    assert not Panorama.objects.filter(near_training_photo=True).exists()
    version = model_version_register(name="tiny", checkpoint=tiny_checkpoint)
    assert not Panorama.objects.filter(panorama_set__name="train-photos", near_training_photo=False).exists()
    assert TrainingLeakCheck.objects.filter(model_version=version).count() == Panorama.objects.count()


def test_the_command_reports_the_leak_check_of_each_version(synthetic_train, tiny_checkpoint, tmp_storage):
    model_version_register(name="tiny", checkpoint=tiny_checkpoint)
    out = StringIO()
    call_command("import_panoramas", manifest=str(synthetic_train), name="again", stdout=out, stderr=StringIO())
    count = Panorama.objects.count()
    assert f"{count} near the training photos of tiny" in out.getvalue()


def test_a_version_without_its_training_places_is_named_unchecked_until_its_manifest_is_given(
    synthetic_train, synthetic_test, tiny_checkpoint, tmp_storage, model_version
):
    """The fixture's version is seeded without training places, as one registered before this check was."""
    out = StringIO()
    call_command("import_panoramas", manifest=str(synthetic_train), name="set", stdout=out, stderr=StringIO())
    assert "not checked against tiny" in out.getvalue()
    with pytest.raises(CommandError, match="not the manifest 'tiny' was trained on"):
        model_version.train_manifest_sha256 = "0" * 64
        model_version.save()
        call_command("check_training_leaks", model="tiny", training_manifest=str(synthetic_test), stdout=StringIO())
    model_version.train_manifest_sha256 = ""
    model_version.save()
    out = StringIO()
    call_command("check_training_leaks", model="tiny", training_manifest=str(synthetic_train), stdout=out)
    count = Panorama.objects.count()
    assert f"{count} of {count} panoramas" in out.getvalue()
    assert not Panorama.objects.filter(near_training_photo=False).exists()
