"""The game map's country borders: real countries where they belong, no ring across the antimeridian, small."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli
import pytest
import shapely

from planet_engine.borders import CountryCollection, countries_geojson, dequantised
from planet_engine.cli import main


@pytest.fixture(scope="module")
def collection() -> CountryCollection:
    return countries_geojson()


def _shape_of(collection: dict, country: str) -> shapely.Geometry:
    features = [f for f in collection["features"] if f["properties"]["country"] == country]
    assert features, f"{country} is missing"
    return shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in features])


@pytest.mark.parametrize(
    ("country", "lat", "lon"),
    [
        ("FR", 48.8566, 2.3522),
        ("NO", 59.9139, 10.7522),
        ("JP", 35.6762, 139.6503),
        ("BR", -23.5505, -46.6333),
        ("FJ", -17.75, 178.0),
    ],
)
def test_a_city_inland_lies_inside_its_simplified_country(
    collection: dict, country: str, lat: float, lon: float
) -> None:
    assert _shape_of(collection, country).contains(shapely.Point(lon, lat))


def test_every_feature_names_a_continent_and_no_ring_jumps_across_the_map(collection: dict) -> None:
    assert len(collection["features"]) > 200
    for feature in collection["features"]:
        assert feature["properties"]["continent"], feature["properties"]
        for ring in shapely.get_rings(shapely.geometry.shape(feature["geometry"])):
            lons = shapely.get_coordinates(ring)[:, 0]
            assert (abs(lons) <= 180).all()
            # A ring edge spanning more than half the globe is Leaflet's stray line across the whole map.
            assert (abs(lons[1:] - lons[:-1]) < 180).all(), feature["properties"]["name"]


def test_the_cli_writes_a_compact_file_with_rounded_coordinates(tmp_path: Path, collection: dict) -> None:
    out = tmp_path / "map" / "countries.json"
    assert main(["countries-geojson", "--out", str(out)]) == 0
    text = out.read_text()
    # Served to every player's browser: under 250 KB compressed (whitenoise serves gzip and brotli).
    assert len(gzip.compress(text.encode(), 9)) < 250_000 and len(brotli.compress(text.encode())) < 250_000
    decoded = dequantised(json.loads(text))
    coordinates = shapely.get_coordinates(shapely.geometry.shape(decoded["features"][0]["geometry"]))
    assert (abs(coordinates * 100 - (coordinates * 100).round()) < 1e-6).all()
    # Quantising loses nothing: the decoded file is the simplified, rounded collection.
    assert decoded == json.loads(json.dumps(collection))


def test_a_tolerance_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        countries_geojson(tolerance_deg=0)
