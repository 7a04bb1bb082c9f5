from pathlib import Path

import pytest

from planet_engine.manifest import ManifestError, read_manifest


def write(folder: Path, text: str, files: tuple[str, ...] = ("a.jpg", "b.jpg")) -> Path:
    for name in files:
        (folder / name).write_bytes(b"x")
    path = folder / "manifest.csv"
    path.write_text(text)
    return path


def test_good_manifest_keeps_extra_columns(tmp_path):
    manifest = read_manifest(write(tmp_path, "file,latitude,longitude,country\na.jpg,1.5,2.5,FR\nb.jpg,-3,4,KE\n"))
    assert len(manifest) == 2
    assert manifest.rows[0].path == tmp_path / "a.jpg"
    assert manifest.column("country") == ["FR", "KE"]
    assert manifest.column("scene") is None
    assert manifest.latitudes.tolist() == [1.5, -3.0]


def test_rows_sharing_a_place_id_are_one_place_in_their_order(tmp_path):
    text = "file,latitude,longitude,place_id\na.jpg,1,2,p\nb.jpg,3,4,\nc.jpg,1,2,q\nd.jpg,1,2,p\ne.jpg,5,6,\n"
    manifest = read_manifest(write(tmp_path, text, files=("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg")))
    assert manifest.places() == [[0, 3], [1], [2], [4]]


def test_real_multiview_places_are_a_hundred_of_four_views(datasets):
    places = read_manifest(datasets / "panoramax-multiview" / "manifest.csv").places()
    assert len(places) == 100 and {len(place) for place in places} == {4}


def test_every_bad_row_is_reported_and_nothing_returned(tmp_path):
    text = (
        "file,latitude,longitude\na.jpg,91,0\nb.jpg,nan,0\nmissing.jpg,0,0\na.jpg,0,0\n"
        "../escape.jpg,0,0\nc.jpg,zero,0\n"
    )
    with pytest.raises(ManifestError) as caught:
        read_manifest(write(tmp_path, text, files=("a.jpg", "b.jpg", "c.jpg")))
    problems = "\n".join(caught.value.problems)
    assert "line 2: latitude 91.0 is outside" in problems
    assert "line 3: latitude 'nan' is not finite" in problems
    assert "line 4: file 'missing.jpg' not found" in problems
    assert "line 5: duplicate of line 2 (a.jpg)" in problems
    assert "line 6: file '../escape.jpg' must be a path inside" in problems
    assert "line 7: latitude 'zero' is not a number" in problems


def test_missing_columns_are_named(tmp_path):
    with pytest.raises(ManifestError, match="missing column.*longitude"):
        read_manifest(write(tmp_path, "file,latitude\na.jpg,1\n"))


def test_short_rows_and_empty_files_are_rejected(tmp_path):
    with pytest.raises(ManifestError, match="expected 3 fields"):
        read_manifest(write(tmp_path, "file,latitude,longitude\na.jpg,1\n"))
    with pytest.raises(ManifestError, match="no rows"):
        read_manifest(write(tmp_path, "file,latitude,longitude\n"))


def test_binary_garbage_is_rejected_clearly(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ManifestError):
        read_manifest(path)


def test_real_manifests_read_cleanly(datasets):
    assert len(read_manifest(datasets / "yfcc-train" / "manifest.csv")) == 500
    assert len(read_manifest(datasets / "osv5m-demo" / "manifest.csv")) == 121


@pytest.mark.parametrize(
    "text",
    [
        'file,latitude,longitude\na.jpg,1.5,"2.3',  # cut inside a quoted field: the value would read as 2.3
        'file,latitude,longitude\n"a.jpg,1.5,2.35\nb.jpg,3,4\n',  # an unclosed quote swallows the rest
        'file,latitude,longitude\na.jpg,1.5,"2.35"x\n',  # text after a closing quote
    ],
    ids=["cut inside quotes", "unclosed quote", "text after quote"],
)
def test_a_csv_with_broken_quoting_is_refused_as_malformed(tmp_path: Path, text: str) -> None:
    with pytest.raises(ManifestError, match="malformed CSV"):
        read_manifest(write(tmp_path, text))


def test_a_csv_cut_mid_row_or_with_extra_fields_is_refused_by_line(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        read_manifest(write(tmp_path, "file,latitude,longitude\na.jpg,1,2,3\nb.jpg,-3,4\nb.jp"))
    assert caught.value.problems == ["line 2: expected 3 fields", "line 4: expected 3 fields"]


def test_a_row_repeated_or_a_file_spelled_twice_is_a_duplicate(tmp_path: Path) -> None:
    text = "file,latitude,longitude\na.jpg,1,2\na.jpg,1,2\n./b.jpg,3,4\nb.jpg,3,4\n"
    with pytest.raises(ManifestError) as caught:
        read_manifest(write(tmp_path, text))
    assert caught.value.problems == ["line 3: duplicate of line 2 (a.jpg)", "line 5: duplicate of line 4 (b.jpg)"]


def test_a_nul_character_in_a_row_or_the_header_is_refused(tmp_path):
    # No database column holds a NUL (PostgreSQL refuses it): refused here, for the engine and the importer alike.
    text = "file,latitude,longitude,licence\na.jpg,1,2,CC\x00BY\nb.jpg,3,4,CC0\n"
    with pytest.raises(ManifestError) as caught:
        read_manifest(write(tmp_path, text))
    assert caught.value.problems == ["line 2: licence holds a NUL character"]
    with pytest.raises(ManifestError, match="header holds a NUL character"):
        read_manifest(write(tmp_path, "file,latitude,longitude,lic\x00ence\na.jpg,1,2,CC0\n"))
