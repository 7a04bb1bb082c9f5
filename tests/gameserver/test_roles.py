"""Roles: players play (sessions, CSRF on every write), researchers also export, admins also load sets and
register models. Each door is tried by each role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from gameserver.games.models import Game
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db

REGISTER_URL = "/admin/inference/modelversion/register/"
UPLOAD_URL = "/admin/panoramas/panoramaset/upload/"
PREDICTIONS_URL = "/admin/inference/modelversion/predictions/"
EXPORT_URL = "/api/stats/export?format=csv"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients(db: None) -> dict[str, Client]:
    researcher = User.objects.create_user("researcher", password="pw")
    researcher.groups.add(Group.objects.get_or_create(name="researchers")[0])
    staff_without_rights = User.objects.create_user("staff", password="pw", is_staff=True)
    loader = User.objects.create_user("loader", password="pw", is_staff=True)
    loader.user_permissions.add(
        Permission.objects.get(codename="add_panoramaset"), Permission.objects.get(codename="add_modelversion")
    )
    return {
        "anonymous": Client(),
        "player": signed_in(User.objects.create_user("player", password="pw")),
        "researcher": signed_in(researcher),
        "staff": signed_in(staff_without_rights),
        "loader": signed_in(loader),
        "admin": signed_in(User.objects.create_superuser("root", password="pw")),
    }


def test_each_role_reaches_exactly_its_doors(clients, tiny_checkpoint: Path):
    expected = {  # role: (export, upload form, register form, predictions form)
        "anonymous": (401, 302, 302, 302),
        "player": (403, 302, 302, 302),
        "researcher": (200, 302, 302, 302),
        # Staff are admins: they export; loading data needs its own permission.
        "staff": (200, 403, 403, 403),
        "loader": (200, 200, 200, 200),
        "admin": (200, 200, 200, 200),
    }
    seen = {
        role: (
            client.get(EXPORT_URL).status_code,
            client.get(UPLOAD_URL).status_code,
            client.get(REGISTER_URL).status_code,
            client.get(PREDICTIONS_URL).status_code,
        )
        for role, client in clients.items()
    }
    assert seen == expected


def test_an_admin_uploads_predictions_and_a_bad_file_is_refused_naming_its_rows(clients, synthetic_test):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gameserver.inference.models import ExternalPrediction

    panorama_set = panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    panorama = Panorama.objects.earliest("pk")
    admin = clients["admin"]

    def upload(text: str, **fields: str) -> Any:
        return admin.post(
            PREDICTIONS_URL,
            {
                "name": "geoclip",
                "panorama_set": panorama_set.set_id,
                "predictions": SimpleUploadedFile("p.csv", text.encode()),
                **fields,
            },
        )

    refused = upload(f"file,latitude,longitude\n{panorama.source_file},95,0\nimages/nope.jpg,1,1\n")
    assert refused.status_code == 400 and not ModelVersion.objects.exists()
    assert "line 2: latitude 95" in refused.content.decode() and "line 3: unknown file" in refused.content.decode()
    part = upload(f"file,latitude,longitude\n{panorama.source_file},45,5\n")
    assert part.status_code == 400 and "predicts 1 of the" in part.content.decode()
    assert upload(f"file,latitude,longitude\n{panorama.source_file},45,5\n", partial="on").status_code == 302
    version = ModelVersion.objects.get(name="geoclip")
    assert version.kind == "external" and ExternalPrediction.objects.get().latitude == 45
    assert PREDICTIONS_URL in admin.get("/admin/inference/modelversion/").content.decode()
    knn = admin.post(
        REGISTER_URL, {"name": "geoclip", "kind": "knn", "checkpoint": SimpleUploadedFile("k.pt", b"not a checkpoint")}
    )
    assert knn.status_code == 400 and "taken by a model of kind external" in knn.content.decode()


def test_an_admin_registers_a_model_and_a_bad_checkpoint_is_refused_with_nothing_written(clients, tiny_checkpoint):
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = clients["admin"]

    def register(name: str, data: bytes, **fields: str):
        return admin.post(REGISTER_URL, {"name": name, "checkpoint": SimpleUploadedFile("broken.pt", data), **fields})

    refused = register("broken", b"not a checkpoint")
    assert refused.status_code == 400 and not ModelVersion.objects.exists()
    assert "broken.pt" in refused.content.decode()
    missing = admin.post(REGISTER_URL, {"name": "gone"})
    assert missing.status_code == 400 and not ModelVersion.objects.exists()
    assert register("not a slug", tiny_checkpoint.read_bytes()).status_code == 400

    registered = register("tiny-v1", tiny_checkpoint.read_bytes(), default="on")
    assert registered.status_code == 302
    version = ModelVersion.objects.get()
    assert (version.name, version.is_default, len(version.checkpoint_sha256)) == ("tiny-v1", True, 64)
    listing = admin.get("/admin/inference/modelversion/").content.decode()
    assert "tiny-v1" in listing and REGISTER_URL in listing


def test_staff_without_the_permission_cannot_register(clients, tiny_checkpoint):
    response = clients["staff"].post(REGISTER_URL, {"name": "x", "checkpoint": tiny_checkpoint.open("rb")})
    assert response.status_code == 403 and not ModelVersion.objects.exists()


def test_writes_need_the_csrf_token(synthetic_test, model_version):
    panorama_set_import(manifest_path=synthetic_test, name="s")
    browser = Client(enforce_csrf_checks=True)
    browser.get("/api/session")  # sets the csrftoken cookie
    body = json.dumps({"set": "s", "rounds": 1})
    forged = browser.post("/api/games", data=body, content_type="application/json")
    assert forged.status_code == 403 and not Game.objects.exists()
    token = browser.cookies["csrftoken"].value
    made = browser.post("/api/games", data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert made.status_code == 201 and Game.objects.count() == 1


def test_admin_forms_need_the_csrf_token(tiny_checkpoint):
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(User.objects.create_superuser("root", password="pw"))
    response = admin.post(REGISTER_URL, {"name": "tiny", "checkpoint": tiny_checkpoint.open("rb")})
    assert response.status_code == 403 and not ModelVersion.objects.exists()
