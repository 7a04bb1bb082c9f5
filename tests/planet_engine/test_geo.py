import math

import numpy as np
import pytest

from planet_engine.geo import (
    EARTH_RADIUS_KM,
    THRESHOLDS_KM,
    distance_km,
    distances_km,
    geoscore,
    pairwise_distances_km,
    summarize_errors,
    validate_coordinate_arrays,
    validate_coordinates,
    within_thresholds,
)

# The distances below are measured on geo's sphere: EARTH_RADIUS_KM must be the haversine package's.


def test_one_degree_of_the_equator_is_r_times_pi_over_180():
    assert distance_km(0, 0, 0, 1) == pytest.approx(EARTH_RADIUS_KM * math.pi / 180, rel=1e-9)


def test_pole_to_pole_is_half_the_circumference():
    assert distance_km(90, 0, -90, 0) == pytest.approx(EARTH_RADIUS_KM * math.pi, rel=1e-9)


def test_paris_to_london_matches_a_hand_computed_haversine():
    lat1, lon1, lat2, lon2 = map(math.radians, (48.8566, 2.3522, 51.5074, -0.1278))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    expected = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
    assert distance_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(expected, rel=1e-9)
    assert 340 < expected < 345


def test_distance_across_the_antimeridian_is_short():
    assert distance_km(0, 179.5, 0, -179.5) == pytest.approx(EARTH_RADIUS_KM * math.pi / 180, rel=1e-9)


def test_vector_and_pairwise_distances_agree_with_the_scalar_one():
    rng = np.random.default_rng(0)
    lat1, lat2 = rng.uniform(-90, 90, (2, 50))
    lon1, lon2 = rng.uniform(-180, 180, (2, 50))
    scalar = np.array([distance_km(*args) for args in zip(lat1, lon1, lat2, lon2, strict=True)])
    np.testing.assert_allclose(distances_km(lat1, lon1, lat2, lon2), scalar, rtol=1e-12)
    pairwise = pairwise_distances_km(lat1, lon1, lat2[:7], lon2[:7])
    assert pairwise.shape == (50, 7)
    assert pairwise[3, 5] == pytest.approx(distance_km(lat1[3], lon1[3], lat2[5], lon2[5]), rel=1e-12)


def test_geoscore_is_5000_at_zero_and_falls_by_e_every_1492_7_km():
    assert geoscore(0.0) == 5000.0
    assert geoscore(1492.7) == pytest.approx(5000 / math.e)
    assert geoscore(2 * 1492.7) == pytest.approx(5000 / math.e**2)
    np.testing.assert_allclose(geoscore(np.array([0.0, 1492.7])), [5000, 5000 / math.e])


def test_thresholds_are_inclusive_and_ordered():
    hits = within_thresholds(np.array([1.0, 1.0001, 2500.0, 2500.1]))
    assert THRESHOLDS_KM == (1, 25, 200, 750, 2500)
    assert hits[0].tolist() == [True] * 5
    assert hits[1].tolist() == [False, True, True, True, True]
    assert hits[2].tolist() == [False, False, False, False, True]
    assert hits[3].tolist() == [False] * 5


def test_summary_of_hand_made_errors():
    summary = summarize_errors(np.array([0.5, 10.0, 100.0, 1000.0, 5000.0]))
    assert summary.accuracy == {"street": 0.2, "city": 0.4, "region": 0.6, "country": 0.6, "continent": 0.8}
    assert summary.median_km == 100.0
    assert summary.mean_km == pytest.approx(1222.1)
    assert summary.mean_geoscore == pytest.approx(
        np.mean([5000 * math.exp(-d / 1492.7) for d in (0.5, 10, 100, 1000, 5000)])
    )


def test_empty_errors_are_rejected():
    with pytest.raises(ValueError, match="empty"):
        summarize_errors(np.array([]))


@pytest.mark.parametrize("latitude,longitude", [(91, 0), (-90.5, 0), (0, 180.01), (float("nan"), 0), (0, float("inf"))])
def test_bad_coordinates_are_rejected(latitude, longitude):
    with pytest.raises(ValueError):
        validate_coordinates(latitude, longitude)


def test_coordinate_arrays_count_the_bad_values_and_name_the_first():
    latitudes, longitudes = validate_coordinate_arrays(np.array([0, 45]), np.array([-180, 180]))
    assert latitudes.dtype == longitudes.dtype == np.float64
    with pytest.raises(
        ValueError,
        match=r"latitude must be finite and within \[-90, 90\]: 2 invalid value\(s\), "
        r"first nan at index 1",
    ):
        validate_coordinate_arrays(np.array([0.0, np.nan, 91.0]), np.zeros(3))
    with pytest.raises(ValueError, match=r"longitude .* first inf at index 0"):
        validate_coordinate_arrays(np.zeros(2), np.array([np.inf, 0.0]))
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        validate_coordinate_arrays(np.zeros(2), np.zeros(3))


def test_geoscore_gives_a_float_for_a_number_and_an_array_for_an_array():
    assert isinstance(geoscore(100.0), float)
    assert geoscore(np.zeros((2, 3))).shape == (2, 3)


def test_a_missing_error_is_inside_no_radius():
    """A round that timed out has no pin: the game passes its error as infinity, which no radius holds."""
    from planet_engine.geo import head_to_head, threshold_outcomes, within_thresholds

    assert threshold_outcomes(math.inf, 300.0) == {
        "street": "tie",
        "city": "tie",
        "region": "tie",
        "country": "model",
        "continent": "model",
    }
    assert set(threshold_outcomes(math.inf, math.inf).values()) == {"tie"}
    assert head_to_head(math.inf, 300.0) == "model"
    assert not within_thresholds(np.array([math.inf])).any()


def test_threshold_outcomes_tie_when_both_inside_or_both_outside():
    from planet_engine.geo import head_to_head, threshold_outcomes

    outcomes = threshold_outcomes(0.5, 300.0)
    assert outcomes == {"street": "human", "city": "human", "region": "human", "country": "tie", "continent": "tie"}
    assert threshold_outcomes(5000, 10)["city"] == "model"
    assert head_to_head(10, 20) == "human" and head_to_head(20, 10) == "model" and head_to_head(5, 5) == "tie"
