"""The game map's verbs of `python -m planet_engine`: countries-geojson (Natural Earth's borders), map-labels
(country and city names from Natural Earth and GeoNames) and map-layers (admin-1 boundaries, lakes, rivers): the
files the game's map reads."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def cmd_countries_geojson(args: argparse.Namespace) -> int:
    from planet_engine.borders import write_countries_geojson

    started = time.monotonic()
    count = write_countries_geojson(Path(args.out), tolerance_deg=args.tolerance)
    size_kb = Path(args.out).stat().st_size / 1024
    print(
        f"{count} countries, simplified at {args.tolerance:g} deg -> {args.out} ({size_kb:.0f} KB) "
        f"in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


def cmd_map_labels(args: argparse.Namespace) -> int:
    from planet_engine.map_labels import write_map_labels

    towns = Path(args.towns_out) if args.towns_out else None
    labels = write_map_labels(Path(args.out), min_population=args.min_population, towns_out=towns)
    print(
        f"{len(labels['countries'])} countries and {len(labels['cities'])} cities -> {args.out} "
        f"({Path(args.out).stat().st_size / 1024:.0f} KB)"
        + (f"; towns -> {towns} ({towns.stat().st_size / 1024:.0f} KB)" if towns else ""),
        file=sys.stderr,
    )
    return 0


def cmd_map_layers(args: argparse.Namespace) -> int:
    from planet_engine.map_layers import write_detail_layers

    written = write_detail_layers(Path(args.sources), Path(args.out_dir))
    print(
        ", ".join(f"{name} ({size / 1024:.0f} KB)" for name, size in written.items()) + f" -> {args.out_dir}",
        file=sys.stderr,
    )
    return 0


def add_map_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("map-labels", help="the game map's country and city names (Natural Earth, GeoNames)")
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--min-population", type=int, default=300_000, help="smallest city named (capitals always)")
    p.add_argument("--towns-out", default="", help="JSON file for the smaller towns, fetched when zoomed in")
    p.set_defaults(run=cmd_map_labels)

    p = verbs.add_parser("map-layers", help="the game map's detail layers: admin-1 boundaries, lakes, rivers")
    p.add_argument("--sources", required=True, help="folder holding the fetched registry packages")
    p.add_argument("--out-dir", required=True, help="folder to write admin1.json and water.json into")
    p.set_defaults(run=cmd_map_layers)

    p = verbs.add_parser("countries-geojson", help="the game map's country borders (Natural Earth) as GeoJSON")
    p.add_argument("--out", required=True, help="GeoJSON file to write")
    p.add_argument("--tolerance", type=float, default=0.05, help="simplification tolerance in degrees")
    p.set_defaults(run=cmd_countries_geojson)
