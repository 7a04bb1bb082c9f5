"""Property-based test (hypothesis) of the guess endpoint: whatever the body, a guess with valid coordinates is
stored (201) or a JSON error comes back (400) with nothing written; never a server error."""

from __future__ import annotations

import json
import math
from pathlib import Path

import hypothesis
import pytest
from django.test import Client
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from gameserver.games.models import Guess
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.services import panorama_set_import
from planet_engine.geo import validate_coordinates

pytestmark = pytest.mark.django_db

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
# What a client might put in a coordinate: plausible and boundary values, numbers of any size, anything else.
coordinates = st.one_of(
    st.floats(min_value=-90.0, max_value=90.0),
    st.floats(min_value=-180.0, max_value=180.0),
    st.sampled_from([90, -90, 180, -180, 90.000001, -180.000001]),
    # JSON integers past a float's range (about 1.8e308): out of range, never an overflow.
    st.integers(min_value=2**1024, max_value=10**400).flatmap(lambda big: st.sampled_from([big, -big])),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    json_values,
)
guess_bodies = st.one_of(
    st.fixed_dictionaries(
        {"latitude": coordinates, "longitude": coordinates},
        optional={"timed_out": st.one_of(st.just(True), json_scalars), "extra": json_values},
    ),
    st.fixed_dictionaries({}, optional={"latitude": coordinates, "longitude": coordinates}),
    json_values,
)
# Bodies that are not JSON text at all: cut short, binary, or nested past the parser's recursion limit.
raw_bodies = st.one_of(
    st.binary(max_size=40),
    guess_bodies.map(lambda body: json.dumps(body)[:-1].encode()),
    st.integers(min_value=1_000, max_value=200_000).map(lambda depth: b"[" * depth + b"]" * depth),
)


def in_range(value: object, limit: float) -> bool:
    # Compared, not math.isfinite(): a huge integer is out of range, not an OverflowError.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and -limit <= value <= limit


def expected_to_be_accepted(body: JsonValue) -> bool:
    if not isinstance(body, dict):
        return False
    if body.get("timed_out") is True:
        return True  # a timeout carries no coordinates
    return in_range(body.get("latitude"), 90.0) and in_range(body.get("longitude"), 180.0)


def parsed(raw: bytes) -> JsonValue:
    """The body as the API reads it (an empty body is an empty object); a sentinel string where it is not JSON."""
    try:
        return json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return "<not JSON>"


@pytest.fixture
def served_round(source, tmp_storage: Path, model_version: ModelVersion, settings: Settings) -> tuple[Client, str]:
    """A player's client and a round of theirs that has started."""
    settings.RATE_LIMITS = {**getattr(settings, "RATE_LIMITS", {}), "guesses": "100000/60"}
    manifest = source.manifest([{"file": source.image("a.jpg", seed=1), "latitude": 48.85, "longitude": 2.35}])
    panorama_set_import(manifest_path=manifest, name="one")
    client = Client()
    game = client.post("/api/games", data={"set": "one", "rounds": 1}, content_type="application/json").json()
    view = client.post(f"/api/games/{game['game']}/rounds/1/start", content_type="application/json").json()
    return client, f"/api/rounds/{view['round']}/guess"


def check_response(client: Client, url: str, raw: bytes, body: JsonValue) -> None:
    response = client.post(url, data=raw, content_type="application/json")  # a server error raises here
    if not expected_to_be_accepted(body):
        assert response.status_code == 400, (body, response.content)
        error = response.json()["error"]
        assert isinstance(error, str) and error and "Traceback" not in error
        assert not Guess.objects.exists()
        return
    assert response.status_code == 201, (body, response.content)
    assert isinstance(body, dict)  # as expected_to_be_accepted found it
    guess = Guess.objects.get()
    human = response.json()["human"]
    if body.get("timed_out") is True:
        assert guess.timed_out and guess.latitude is None and guess.points == 0 and human["timed_out"]
    else:
        assert not guess.timed_out and guess.latitude is not None and guess.longitude is not None
        assert (guess.latitude, guess.longitude) == (body["latitude"], body["longitude"])
        validate_coordinates(guess.latitude, guess.longitude)
        assert (human["latitude"], human["longitude"]) == (body["latitude"], body["longitude"])
        assert 0 < guess.points <= 5000 and guess.km is not None and math.isfinite(guess.km)
    guess.delete()  # the next example guesses afresh


@pytest.mark.hypothesis
def test_any_json_guess_is_stored_valid_or_refused_with_nothing_written(served_round: tuple[Client, str]) -> None:
    client, url = served_round

    @hypothesis.settings(max_examples=4 * hypothesis.settings().max_examples // 5, deadline=None)  # 80 in ci
    @hypothesis.given(guess_bodies)
    def check(body: JsonValue) -> None:
        check_response(client, url, json.dumps(body).encode(), body)

    check()


@pytest.mark.hypothesis
def test_any_raw_guess_body_is_refused_or_stored_never_a_server_error(served_round: tuple[Client, str]) -> None:
    client, url = served_round

    @hypothesis.settings(max_examples=3 * hypothesis.settings().max_examples // 10, deadline=None)  # 30 in ci
    @hypothesis.given(raw_bodies)
    def check(raw: bytes) -> None:
        check_response(client, url, raw, parsed(raw))

    check()
