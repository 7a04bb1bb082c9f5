"""An admin's upload is an import job: the request returns at once to the job's page, a worker runs the import
(the same service as the command, every check included), the page shows the progress and then the set's summary
or every problem; a job whose worker went away is run again, one that ended is not. Zips of photos alone are
placed by their EXIF GPS; a sample manifest can be downloaded."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import ExifTags, Image

from gameserver.panoramas.jobs import import_job_run
from gameserver.panoramas.models import ImportJob, PanoramaSet
from gameserver.panoramas.uploads import import_jobs_resume
from tests.conftest import zip_of

pytestmark = pytest.mark.django_db

UPLOAD_URL = "/admin/panoramas/panoramaset/upload/"


def gps_exif(latitude: float, longitude: float) -> Image.Exif:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if latitude >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = (float(int(abs(latitude))), 0.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if longitude >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = (float(int(abs(longitude))), 0.0, 0.0)
    return exif


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client


def upload(client: Client, folder: Path, name: str, capture: Any) -> tuple[Any, ImportJob]:
    with capture(execute=True):  # the worker is asked once the request's transaction commits (eager here)
        response = client.post(UPLOAD_URL, {"name": name, "archive": SimpleUploadedFile("set.zip", zip_of(folder))})
    return response, ImportJob.objects.get(name=name)


def test_an_upload_returns_at_once_to_its_job_page_which_ends_with_the_sets_summary(
    source, tmp_storage, admin, django_capture_on_commit_callbacks, stored_files
):
    source.manifest(
        [
            {"file": source.image("a.jpg", seed=1), "latitude": 48.85, "longitude": 2.35},
            {"file": source.image("b.jpg", seed=2), "latitude": -1.29, "longitude": 36.82},
        ]
    )
    with django_capture_on_commit_callbacks(execute=False) as asked:
        response = admin.post(
            UPLOAD_URL, {"name": "later", "archive": SimpleUploadedFile("s.zip", zip_of(source.root))}
        )
    job = ImportJob.objects.get(name="later")
    assert response.status_code == 302 and response["Location"].endswith(f"/importjob/{job.pk}/change/")
    assert job.status == "queued" and not PanoramaSet.objects.exists() and len(asked) == 1  # nothing imported yet
    waiting = admin.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting and "Queued" in waiting
    asked[0]()  # the worker runs it
    job.refresh_from_db()
    assert (job.status, job.stage, job.done, job.total) == ("done", "written", 2, 2)
    page = admin.get(response["Location"]).content.decode()
    assert "2 panoramas, 2 countries" in page and 'http-equiv="refresh"' not in page
    panorama_set = PanoramaSet.objects.get(name="later")
    assert panorama_set.status == "draft" and job.panorama_set_id == panorama_set.pk
    assert not [path for path in stored_files() if "uploads" in path.parts]  # the archive went with the job
    entry = LogEntry.objects.get(object_id=str(panorama_set.pk))
    assert entry.is_addition() and "s.zip" in entry.change_message and entry.user.username == "admin"


def test_a_failed_job_lists_every_problem_on_its_page(source, tmp_storage, admin, django_capture_on_commit_callbacks):
    source.manifest(
        [
            {"file": source.image("a.jpg", seed=1), "latitude": 95, "longitude": 2},
            {"file": source.bytes("b.jpg", b"not an image"), "latitude": 1, "longitude": 2},
        ]
    )
    response, job = upload(admin, source.root, "broken", django_capture_on_commit_callbacks)
    assert job.status == "failed" and [p.split(":")[0] for p in job.problems] == ["line 2", "line 3"]
    page = admin.get(response["Location"]).content.decode()
    assert "2 problem(s); nothing was imported" in page and "line 3:" in page
    assert not PanoramaSet.objects.exists()


def test_a_taken_name_is_refused_by_the_form_at_once(source, tmp_storage, admin, django_capture_on_commit_callbacks):
    source.manifest([{"file": source.image("a.jpg", seed=1), "latitude": 1, "longitude": 2}])
    upload(admin, source.root, "once", django_capture_on_commit_callbacks)
    again = admin.post(UPLOAD_URL, {"name": "once", "archive": SimpleUploadedFile("s.zip", zip_of(source.root))})
    assert again.status_code == 400 and "already exists" in again.content.decode()


def test_a_job_whose_worker_went_away_runs_again_and_one_that_ended_does_not(
    source, tmp_storage, admin, django_capture_on_commit_callbacks
):
    source.manifest([{"file": source.image("a.jpg", seed=1), "latitude": 1, "longitude": 2}])
    with django_capture_on_commit_callbacks(execute=False):  # the message is lost (an in-memory broker restarted)
        admin.post(UPLOAD_URL, {"name": "lost", "archive": SimpleUploadedFile("s.zip", zip_of(source.root))})
    job = ImportJob.objects.get(name="lost")
    ImportJob.objects.filter(pk=job.pk).update(status="running", attempts=1)  # its worker died mid-way
    assert import_jobs_resume() == 1  # eager here: the worker runs it again at once
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2 and PanoramaSet.objects.filter(name="lost").exists()
    import_job_run(job_id=job.pk)  # a late duplicate of its message
    assert ImportJob.objects.get(pk=job.pk).attempts == 2 and import_jobs_resume() == 0


def test_a_zip_of_photos_alone_is_placed_by_their_exif_gps(
    source, tmp_storage, admin, django_capture_on_commit_callbacks
):
    source.image("oslo.jpg", seed=1, exif=gps_exif(59.9, 10.7))
    source.image("trip/nairobi.jpg", seed=2, exif=gps_exif(-1.3, 36.8))
    _, job = upload(admin, source.root, "phone", django_capture_on_commit_callbacks)
    assert job.status == "done", job.problems
    places = dict(PanoramaSet.objects.get(name="phone").panoramas.values_list("source_file", "country"))
    assert places == {"oslo.jpg": "NO", "trip/nairobi.jpg": "KE"}


def test_a_photo_without_gps_in_a_photos_only_zip_is_named(
    source, tmp_storage, admin, django_capture_on_commit_callbacks
):
    source.image("oslo.jpg", seed=1, exif=gps_exif(59.9, 10.7))
    source.image("nowhere.jpg", seed=2)
    _, job = upload(admin, source.root, "phone", django_capture_on_commit_callbacks)
    assert job.status == "failed" and len(job.problems) == 1 and "GPS" in job.problems[0]


def test_the_sample_manifest_imports_as_documented(admin, tmp_storage):
    response = admin.get("/admin/panoramas/panoramaset/sample-manifest.csv")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('filename="manifest.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {"file", "latitude", "longitude", "heading", "kind", "place_id", "view"} <= set(rows[0])
    assert "download a sample manifest" in admin.get(UPLOAD_URL).content.decode()
