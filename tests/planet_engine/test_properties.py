"""Property-based tests (hypothesis) for the scoring the game and the engine share, and for the manifest parser."""

from __future__ import annotations

import csv
import math
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planet_engine.geo import (
    EARTH_RADIUS_KM,
    GEOSCORE_MAX,
    THRESHOLD_NAMES,
    THRESHOLDS_KM,
    distance_km,
    distances_km,
    geoscore,
    head_to_head,
    summarize_errors,
    threshold_outcomes,
    validate_coordinates,
)
from planet_engine.manifest import ManifestError, read_manifest

# The profile's examples per test (tests/conftest.py: 100 in dev and ci, many more in fuzz); each test takes a
# multiple or a fraction of it by its cost.
EXAMPLES = settings().max_examples
HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM
# Haversine loses precision near antipodes (asin close to 1): about 1e-4 km; this leaves room to spare.
TOLERANCE_KM = 1e-3

latitudes = st.floats(min_value=-90.0, max_value=90.0)
longitudes = st.floats(min_value=-180.0, max_value=180.0)
points = st.tuples(latitudes, longitudes)
errors_km = st.floats(min_value=0.0, max_value=HALF_CIRCUMFERENCE_KM)
# Coordinates as a user might send them: in range, just outside, far outside, NaN and infinities.
any_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [90.0, -90.0, 180.0, -180.0, math.nextafter(90.0, 91.0), math.nextafter(-180.0, -181.0), 0.0, -0.0]
    ),
)


@settings(max_examples=2 * EXAMPLES)
@given(points, points)
def test_distance_is_symmetric_non_negative_and_at_most_half_the_circumference(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    there, back = distance_km(*a, *b), distance_km(*b, *a)
    assert there == pytest.approx(back, abs=TOLERANCE_KM)
    assert 0.0 <= there <= HALF_CIRCUMFERENCE_KM + TOLERANCE_KM


@settings(max_examples=EXAMPLES)
@given(points)
def test_a_point_is_zero_km_from_itself(a: tuple[float, float]) -> None:
    assert distance_km(*a, *a) == 0.0


@settings(max_examples=2 * EXAMPLES)
@given(points, points, points)
def test_distance_obeys_the_triangle_inequality(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
) -> None:
    assert distance_km(*a, *c) <= distance_km(*a, *b) + distance_km(*b, *c) + TOLERANCE_KM


@settings(max_examples=EXAMPLES // 2)
@given(st.lists(st.tuples(points, points), min_size=1, max_size=20))
def test_vector_distances_equal_the_scalar_ones(pairs: list[tuple[tuple[float, float], tuple[float, float]]]) -> None:
    (lat1, lon1), (lat2, lon2) = (np.array(list(zip(*side, strict=True))) for side in zip(*pairs, strict=True))
    expected = [distance_km(*a, *b) for a, b in pairs]
    np.testing.assert_allclose(distances_km(lat1, lon1, lat2, lon2), expected, rtol=1e-12, atol=1e-9)


@settings(max_examples=2 * EXAMPLES)
@given(errors_km, errors_km)
def test_geoscore_lies_in_0_5000_and_falls_as_the_error_grows(near: float, far: float) -> None:
    near, far = sorted((near, far))
    assert 0.0 < geoscore(far) <= geoscore(near) <= GEOSCORE_MAX
    if far - near >= 1e-3:  # closer errors may round to the same float score
        assert geoscore(far) < geoscore(near)


@settings(max_examples=2 * EXAMPLES)
@given(errors_km, errors_km)
def test_threshold_outcomes_follow_the_two_errors(human_km: float, model_km: float) -> None:
    outcomes = threshold_outcomes(human_km, model_km)
    assert list(outcomes) == list(THRESHOLD_NAMES)
    winner = head_to_head(human_km, model_km)
    closer, farther = sorted((human_km, model_km))
    for radius, outcome in zip(THRESHOLDS_KM, outcomes.values(), strict=True):
        # A radius is won exactly when it holds the closer guess and not the farther one, and by the closer.
        assert (outcome != "tie") == (closer <= radius < farther)
        assert outcome in ("tie", winner)


@settings(max_examples=EXAMPLES // 2)
@given(st.lists(errors_km, min_size=1, max_size=50))
def test_error_summary_accuracy_grows_with_the_radius(km: list[float]) -> None:
    summary = summarize_errors(np.array(km))
    rates = [summary.accuracy[name] for name in THRESHOLD_NAMES]
    assert rates == sorted(rates) and all(0.0 <= rate <= 1.0 for rate in rates)
    assert summary.count == len(km) and min(km) <= summary.median_km <= max(km)
    assert 0.0 < summary.mean_geoscore <= GEOSCORE_MAX


@settings(max_examples=3 * EXAMPLES)
@given(any_float, any_float)
def test_validate_coordinates_accepts_exactly_finite_in_range_points(latitude: float, longitude: float) -> None:
    valid = math.isfinite(latitude) and math.isfinite(longitude) and abs(latitude) <= 90 and abs(longitude) <= 180
    try:
        validate_coordinates(latitude, longitude)
    except ValueError as error:
        assert not valid, f"({latitude}, {longitude}) was refused: {error}"
        assert str(latitude) in str(error) or str(longitude) in str(error), "the message names the bad value"
    else:
        assert valid, f"({latitude}, {longitude}) was accepted"


# ---- the manifest parser ---------------------------------------------------------------------------------

# Text that looks like a manifest often enough to reach the row checks: CSV punctuation, numbers, names.
csv_alphabet = st.sampled_from(list('file,latitude,longitude\n\r"a.jpg b/ ../0123456789.-+eE nan inf\x00é\ufeff'))
manifest_bytes = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=150).map(str.encode),
    st.text(csv_alphabet, max_size=150).map(lambda body: ("file,latitude,longitude\n" + body).encode()),
)


@settings(max_examples=5 * EXAMPLES // 2, deadline=None)
@given(data=manifest_bytes, check_files=st.booleans(), coordinates_optional=st.booleans())
def test_any_bytes_parse_to_valid_rows_or_raise_a_manifest_error(
    data: bytes, check_files: bool, coordinates_optional: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "a.jpg").write_bytes(b"x")
        path = Path(folder) / "manifest.csv"
        path.write_bytes(data)
        try:
            manifest = read_manifest(path, check_files=check_files, coordinates_optional=coordinates_optional)
        except ManifestError as error:
            assert error.problems and all(isinstance(problem, str) and problem for problem in error.problems)
            assert str(path) in str(error)
            return
    assert len(manifest) >= 1
    files = [PurePosixPath(row.file).as_posix() for row in manifest.rows]
    assert len(set(files)) == len(files), "no file twice"
    for row in manifest.rows:
        assert row.file and not Path(row.file).is_absolute() and ".." not in Path(row.file).parts
        if coordinates_optional and math.isnan(row.latitude):
            assert math.isnan(row.longitude)
        else:
            validate_coordinates(row.latitude, row.longitude)
    assert [row.line for row in manifest.rows] == sorted({row.line for row in manifest.rows})


# Path segments with CSV's awkward characters (commas, quotes, spaces inside) but never "." or "..".
segments = st.text(st.sampled_from(list("abcXYZ019_-,'\" é")), min_size=1, max_size=8).map(
    lambda text: f"s{text.strip()}"
)
file_names = st.lists(segments, min_size=1, max_size=3).map(lambda parts: "/".join(parts) + ".jpg")
# Any text but a NUL, which a manifest refuses (tests/planet_engine/test_manifest.py).
notes = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=10)
rows = st.lists(
    st.tuples(file_names, latitudes, longitudes, notes), min_size=1, max_size=15, unique_by=lambda row: row[0]
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(rows)
def test_valid_rows_written_as_csv_read_back_unchanged(generated: list[tuple[str, float, float, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "manifest.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "latitude", "longitude", "note"])
            writer.writerows([file, repr(lat), repr(lon), note] for file, lat, lon, note in generated)
        manifest = read_manifest(path, check_files=False)
    assert [(row.file, row.latitude, row.longitude, row.extra) for row in manifest.rows] == [
        (file, lat, lon, {"note": note}) for file, lat, lon, note in generated
    ]
    assert [row.path for row in manifest.rows] == [path.parent / file for file, *_ in generated]
