"""The vectorised simulation: the model's real guesses on one played game's panoramas, players' guesses drawn in
NumPy around each truth at their skill, stored nowhere, and the same tables as the played path computes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from gameserver.games.models import Guess
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.report import benchmark_of_frame
from gameserver.stats.simulation import destination, destinations, rounds_simulate_vectorised
from planet_engine.geo import distances_km

pytestmark = pytest.mark.django_db(transaction=True)  # the model answers on commit


def test_vectorised_destinations_match_the_scalar_one() -> None:
    lat, lon = destinations(
        latitude=np.array([48.85, -33.9]),
        longitude=np.array([2.35, 151.2]),
        bearing_deg=np.array([45.0, 200.0]),
        km=np.array([1234.5, 8000.0]),
    )
    for i, (a, b, bearing, km) in enumerate(((48.85, 2.35, 45.0, 1234.5), (-33.9, 151.2, 200.0, 8000.0))):
        assert (lat[i], lon[i]) == pytest.approx(destination(latitude=a, longitude=b, bearing_deg=bearing, km=km))
        assert distances_km(np.array([a]), np.array([b]), lat[i : i + 1], lon[i : i + 1])[0] == pytest.approx(km)


def test_vectorised_rounds_use_the_models_real_guesses_and_store_nothing(
    synthetic_test: Path, model_version, capsys: pytest.CaptureFixture
) -> None:
    panorama_set = PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="s").set_id)
    frame = rounds_simulate_vectorised(panorama_set=panorama_set, rounds=20_000, skills_km=[300.0, 3000.0], seed=2)
    stored = Guess.objects.count()
    assert frame["human_km"].size == 40_000 and stored == panorama_set.panoramas.count()  # only the model's game
    # The model's error on a panorama is the one its real round committed.
    real = {guess.round.panorama.public_id: guess.model_km for guess in Guess.objects.select_related("round__panorama")}
    for panorama, km in zip(frame["panorama_id"][:200], frame["model_km"][:200], strict=True):
        assert km == pytest.approx(real[panorama], rel=1e-6)
    # Each player's median error is their skill (log-normal around it).
    for name, skill in (("sim-300km-0", 300.0), ("sim-3000km-1", 3000.0)):
        assert np.median(frame["human_km"][frame["player_id"] == name]) == pytest.approx(skill, rel=0.05)
    tables: dict[str, Any] = benchmark_of_frame(frame, resamples=50)
    assert tables["rounds"] == 40_000 and tables["design"]["players"] == 2
    call_command("simulate_rounds", set_name="s", rounds=500, skills=[2000.0], seed=3, vectorised=True)
    assert "closer guess" in capsys.readouterr().out
    assert Guess.objects.count() == 2 * stored  # the command's own model game; the 500 rounds stored nowhere
