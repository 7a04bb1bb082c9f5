"""Reverse geocoding against Natural Earth: famous cities, the dataset's traps, the sea fallback, real photos."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from planet_engine.countries import CountryIndex, Place, continent_of_country, country_index

# (lat, lon) 5 km west of Cabo da Roca, Portugal's westernmost point: open Atlantic.
OFF_PORTUGAL = (38.7804, -9.558)


@pytest.fixture(scope="module")
def index() -> CountryIndex:
    return country_index()


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        pytest.param(48.8566, 2.3522, Place("FR", "Europe"), id="paris"),
        # Natural Earth's ISO_A2 is -99 for Norway (and France, Kosovo); the index must use ISO_A2_EH.
        pytest.param(59.9139, 10.7522, Place("NO", "Europe"), id="oslo"),
        pytest.param(42.6629, 21.1655, Place("XK", "Europe"), id="pristina"),
        pytest.param(40.7128, -74.0060, Place("US", "North America"), id="new-york"),
        pytest.param(-33.8688, 151.2093, Place("AU", "Oceania"), id="sydney"),
        pytest.param(-1.2921, 36.8219, Place("KE", "Africa"), id="nairobi"),
        pytest.param(-23.5505, -46.6333, Place("BR", "South America"), id="sao-paulo"),
    ],
)
def test_city_resolves_to_its_country_and_continent(
    index: CountryIndex, lat: float, lon: float, expected: Place
) -> None:
    assert index.lookup(lat, lon) == expected


def test_point_inside_a_polygon_needs_no_sea_fallback(index: CountryIndex) -> None:
    assert index.lookup(59.9139, 10.7522, max_sea_km=0) == Place("NO", "Europe")


def test_point_off_the_coast_takes_the_nearest_country(index: CountryIndex) -> None:
    assert index.lookup(*OFF_PORTUGAL, max_sea_km=0) == Place(None, None)  # really at sea
    assert index.lookup(*OFF_PORTUGAL) == Place("PT", "Europe")


def test_sea_fallback_honours_max_sea_km(index: CountryIndex) -> None:
    assert index.lookup(*OFF_PORTUGAL, max_sea_km=3) == Place(None, None)
    assert index.lookup(*OFF_PORTUGAL, max_sea_km=10) == Place("PT", "Europe")


def test_middle_of_the_pacific_is_nowhere(index: CountryIndex) -> None:
    assert index.lookup(0.0, -140.0) == Place(None, None)


def test_sea_fallback_reaches_across_the_antimeridian(index: CountryIndex) -> None:
    # Tuvalu's southern atolls lie ~25 km away at 179.8 E; the nearest land west of 180 is 550 km off.
    assert index.lookup(-9.5, -179.9) == Place("TV", "Oceania")


def test_longitude_plus_and_minus_180_agree(index: CountryIndex) -> None:
    lats = np.arange(-80.0, 80.0, 0.5)
    east = index.lookup_many(lats, np.full(lats.size, 180.0))
    west = index.lookup_many(lats, np.full(lats.size, -180.0))
    assert east == west


def test_poles(index: CountryIndex) -> None:
    assert index.lookup(-90.0, 0.0) == Place("AQ", "Antarctica")
    assert index.lookup(90.0, 0.0) == Place(None, None)  # nearest land is ~700 km away


def test_seven_seas_island_gets_a_land_continent(index: CountryIndex) -> None:
    # Natural Earth files Mauritius under "Seven seas (open ocean)".
    assert index.lookup(-20.2, 57.55) == Place("MU", "Africa")


def test_lookup_many_equals_lookup_one_by_one(index: CountryIndex) -> None:
    rng = np.random.default_rng(20240501)
    # Uniform on the sphere, plus points near coasts (around the famous cities) so both paths are exercised.
    lats = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 150)))
    lons = rng.uniform(-180.0, 180.0, 150)
    lats = np.concatenate([lats, 38.7 + rng.normal(0.0, 1.0, 50)])
    lons = np.concatenate([lons, -9.5 + rng.normal(0.0, 1.0, 50)])
    many = index.lookup_many(lats, lons)
    assert many == [index.lookup(float(lat), float(lon)) for lat, lon in zip(lats, lons, strict=True)]
    assert any(place.country is None for place in many) and any(place.country for place in many)


def test_lookup_many_of_nothing_is_empty(index: CountryIndex) -> None:
    assert index.lookup_many(np.array([]), np.array([])) == []


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(math.nan, 0.0), (0.0, math.nan), (90.5, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (math.inf, 0.0)],
)
def test_invalid_coordinate_is_rejected(index: CountryIndex, lat: float, lon: float) -> None:
    with pytest.raises(ValueError):
        index.lookup(lat, lon)
    with pytest.raises(ValueError):
        index.lookup_many(np.array([10.0, lat]), np.array([10.0, lon]))


def test_nan_in_an_array_is_reported_with_its_index(index: CountryIndex) -> None:
    with pytest.raises(ValueError, match=r"latitude.*index 2"):
        index.lookup_many(np.array([1.0, 2.0, math.nan]), np.array([1.0, 2.0, 3.0]))


def test_arrays_of_different_lengths_are_rejected(index: CountryIndex) -> None:
    with pytest.raises(ValueError, match="1-D"):
        index.lookup_many(np.array([1.0, 2.0]), np.array([1.0]))


def test_negative_max_sea_km_is_rejected(index: CountryIndex) -> None:
    with pytest.raises(ValueError, match="max_sea_km"):
        index.lookup(0.0, 0.0, max_sea_km=-1.0)


def test_continent_of_country() -> None:
    assert continent_of_country("FR") == "Europe"  # not Clipperton Island's ocean
    assert continent_of_country("no") == "Europe"
    assert continent_of_country("AU") == "Oceania"
    assert continent_of_country("MV") == "Asia"
    assert continent_of_country("ZZ") is None


def test_country_index_is_built_once() -> None:
    assert country_index() is country_index()


def test_demo_manifest_countries_mostly_agree(index: CountryIndex, datasets: Path) -> None:
    with (datasets / "osv5m-demo" / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    places = index.lookup_many(
        np.array([float(row["latitude"]) for row in rows]), np.array([float(row["longitude"]) for row in rows])
    )
    mismatches = [
        f"{row['file']} ({row['latitude']}, {row['longitude']}): manifest {row['country']}, got {place.country}"
        for row, place in zip(rows, places, strict=True)
        if place.country != row["country"].upper()
    ]
    agreement = 1.0 - len(mismatches) / len(rows)
    assert agreement >= 0.95, f"{agreement:.1%} agree; mismatches:\n" + "\n".join(mismatches)
