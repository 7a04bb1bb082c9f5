"""The map's place names: every country at its label point, big cities from the world view on, capitals early,
smaller towns in a file of their own (the first file stays small enough for a first visit)."""

from __future__ import annotations

import gzip
import json

import numpy as np

from planet_engine.cli import main
from planet_engine.countries import country_index


def test_names_by_zoom_level(tmp_path):
    out = tmp_path / "places.json"
    assert main(["map-labels", "--out", str(out)]) == 0
    labels = json.loads(out.read_text())
    cities = {name: zoom for name, _, _, zoom in labels["cities"]}
    assert cities["Tokyo"] == 3.0 and cities["Lyon"] == 5.0
    assert cities["Canberra"] <= 4.0  # a capital, although under 1M people
    assert "Annecy" not in cities  # under 300,000 and no capital
    countries = {name: (lat, lon) for name, lat, lon, _ in labels["countries"]}
    brazil = country_index().lookup_many(np.array([countries["Brazil"][0]]), np.array([countries["Brazil"][1]]))[0]
    assert brazil.country == "BR"  # the label sits inside its country
    assert "GeoNames" in labels["attribution"]
    assert len(gzip.compress(out.read_bytes())) < 40_000


def test_towns_come_in_a_file_of_their_own_fetched_from_a_zoom(tmp_path):
    places, towns = tmp_path / "places.json", tmp_path / "towns.json"
    assert main(["map-labels", "--out", str(places), "--towns-out", str(towns)]) == 0
    labels = json.loads(places.read_text())
    town_rows = json.loads(towns.read_text())["towns"]
    smaller = {name: zoom for name, _, _, zoom in town_rows}
    assert labels["towns_min_zoom"] == min(smaller.values()) == 6.0
    assert smaller["Annecy"] == 7.0 and smaller["Grenoble"] == 6.0  # about 130,000 and 160,000 people
    assert not {tuple(row) for row in labels["cities"]} & {tuple(row) for row in town_rows}  # each in one file
    assert "Canberra" not in smaller  # a capital is in places.json
