"""The operator commands: import_panoramas and check_training_leaks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gameserver.panoramas.models import Panorama, PanoramaSet

pytestmark = pytest.mark.django_db

PARIS = {"latitude": 48.8566, "longitude": 2.3522}
TOKYO = {"latitude": 35.6762, "longitude": 139.6503}


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_prints_a_summary(source, tmp_storage):
    manifest = source.manifest(
        [{"file": source.image("a.jpg", seed=1), **PARIS}, {"file": source.image("b.jpg", seed=2), **TOKYO}]
    )

    out, err = run(
        "import_panoramas", "--manifest", str(manifest), "--name", "two", "--licence", "CC0", "--kind", "photo"
    )

    assert "imported set 'two'" in out and "2 panoramas, 2 countries" in out
    assert "written 2/2" in err
    assert PanoramaSet.objects.get(name="two").licence == "CC0"


@pytest.mark.parametrize(
    ("bad_row", "rejected"),
    [
        ({"file": "gone.jpg"}, "line 3: file 'gone.jpg' not found"),
        ({"file": "text.jpg"}, "line 3: not an image"),
    ],
)
def test_import_lists_rejected_rows_and_fails_writing_nothing(bad_row, rejected, source, tmp_storage, stored_files):
    source.bytes("text.jpg", b"not a picture")
    manifest = source.manifest([{"file": source.image("a.jpg"), **PARIS}, {**bad_row, **TOKYO}])
    err = StringIO()

    with pytest.raises(CommandError, match="1 problem.*nothing was imported"):
        call_command("import_panoramas", manifest=str(manifest), name="bad", stdout=StringIO(), stderr=err)

    assert rejected in err.getvalue()
    assert not PanoramaSet.objects.exists() and stored_files() == []


def test_import_can_check_training_leaks_right_away(source, tmp_storage, tmp_path):
    manifest = source.manifest(
        [{"file": source.image("a.jpg", seed=1), **PARIS}, {"file": source.image("b.jpg", seed=2), **TOKYO}]
    )
    training = tmp_path / "training.csv"
    training.write_text(f"file,latitude,longitude\nx.jpg,{PARIS['latitude']},{PARIS['longitude']}\n")

    out, _ = run(
        "import_panoramas", "--manifest", str(manifest), "--name", "two", "--check-training-manifest", str(training)
    )

    assert "1 of 2 panoramas lie within 1 km" in out
    assert list(Panorama.objects.filter(near_training_photo=True).values_list("source_file", flat=True)) == ["a.jpg"]


def test_import_refuses_a_missing_training_manifest_before_importing(source, tmp_storage, tmp_path):
    manifest = source.manifest([{"file": source.image("a.jpg"), **PARIS}])

    with pytest.raises(CommandError, match="training manifest not found"):
        run(
            "import_panoramas",
            "--manifest",
            str(manifest),
            "--name",
            "one",
            "--check-training-manifest",
            str(tmp_path / "nope.csv"),
        )

    assert not PanoramaSet.objects.exists()


def test_check_training_leaks_reports_the_flagged_count(source, tmp_storage, tmp_path):
    manifest = source.manifest([{"file": source.image("a.jpg"), **PARIS}])
    run("import_panoramas", "--manifest", str(manifest), "--name", "one")
    training = tmp_path / "training.csv"
    training.write_text(f"file,latitude,longitude\nx.jpg,{PARIS['latitude'] + 0.01},{PARIS['longitude']}\n")

    out, _ = run("check_training_leaks", "--set", "one", "--training-manifest", str(training), "--radius-km", "2")

    assert "1 of 1 panoramas in 'one' lie within 2 km" in out
    assert Panorama.objects.get().near_training_photo


def test_check_training_leaks_refuses_an_unknown_set(tmp_path):
    with pytest.raises(CommandError, match="no panorama set named 'ghost'"):
        run("check_training_leaks", "--set", "ghost", "--training-manifest", str(tmp_path / "t.csv"))
