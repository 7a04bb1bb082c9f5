"""Time `manage.py benchmark_report` end to end on a synthetic Parquet export of 10^6 rows against the goals:
under 5 s wall and under 2 GB peak memory (read, arrays, both tiers' tables, cluster inference, ratings, the text
and the JSON).

The export holds every column of the round export (stats/columns.py), clustered like bench/stats.py's rounds
(20,000 panoramas, 1000 players, 3 models); 60% of rows verified, 37% open, 3% excluded (seen before). The
command runs in a child process, which reports its Django setup (which imports torch through the admin's
imports: bench/README.md) apart from the report itself, and its peak resident memory. Prints the median of 3 runs.

Run: .venv/bin/python -m bench.stats_report [--rows N] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.stats import synthetic_rounds
from gameserver.stats.columns import COLUMNS

REPO = Path(__file__).resolve().parent.parent
GOAL_SECONDS, GOAL_BYTES = 5.0, 2 * 1024**3


def synthetic_export(*, rows: int, seed: int, out: Path) -> None:
    """A Parquet round export of `rows` rows: the benchmark's columns from bench.stats.synthetic_rounds, the
    others filled with values of their kind."""
    table = synthetic_rounds(rows=rows, seed=seed)
    assert table.player is not None and table.country is not None and table.continent is not None  # texts, no codes
    rng = np.random.default_rng(seed + 1)
    draw = rng.random(rows)
    tier = np.where(draw < 0.6, "verified", np.where(draw < 0.97, "open", "excluded")).astype(object)
    known = {
        "player_id": table.player,
        "player_name": np.where(draw < 0.3, table.player, "").astype(object),
        "panorama_id": table.panorama,
        "panorama_set": table.panorama_set,
        "model_name": table.model_version,
        "mode": table.mode,
        "truth_continent": table.continent,
        "truth_country": table.country,
        "human_country": np.where(table.human_same_country, table.country, "").astype(object),
        "model_country": np.where(table.model_same_country, table.country, "").astype(object),
        "human_continent": np.where(table.human_same_continent, table.continent, "").astype(object),
        "model_continent": np.where(table.model_same_continent, table.continent, "").astype(object),
        "human_km": np.where(np.isinf(table.human_km), np.nan, table.human_km),
        "model_km": table.model_km,
        "human_points": table.human_points,
        "model_points": table.model_points,
        "human_timed_out": np.isinf(table.human_km),
        "counted": tier != "excluded",
        "exclusion": np.where(tier == "excluded", "seen_before", "").astype(object),
        "tier": tier,
        "tier_reasons": np.where(tier == "open", "guest", "").astype(object),
        "rating_anchor": "planet-lite2",
        "model_view": "served",
        "model_top_cells": '[["89c25", 0.41], ["89c24", 0.12], ["87a1", 0.05]]',
        "round_id": np.char.add("r", np.arange(rows).astype(str)).astype(object),
        "set_prior_km": table.model_km * 3,
    }
    filler = {"str": "x", "float": 1.0, "int": 1, "bool": False, "datetime": "2026-12-06T10:00:00+00:00"}
    types = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "datetime": pa.string()}
    arrays = []
    for column in COLUMNS:
        values = known.get(column.name, filler[column.kind])
        values = np.full(rows, values, dtype=object) if np.isscalar(values) else values
        arrays.append(pa.array(values, type=types[column.kind], from_pandas=True))
    pq.write_table(pa.Table.from_arrays(arrays, names=[c.name for c in COLUMNS]), out)


def report_once(path: Path, json_out: Path) -> tuple[float, float, float, int, float]:
    """(wall seconds of the child, of its Django setup, of the report itself, peak resident bytes, the report's
    CPU seconds: what others' load on a shared box spares) of one child running `benchmark_report`
    (bench.stats_report --child)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.stats_report", "--child", str(path), str(json_out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    output = child.communicate()[0]
    if child.returncode != 0:
        raise SystemExit(f"benchmark_report failed with status {child.returncode}")
    timings = json.loads(output.strip().splitlines()[-1])
    return (
        time.perf_counter() - started,
        timings["setup_seconds"],
        timings["report_seconds"],
        timings["peak_bytes"],
        timings["report_cpu_seconds"],
    )


def child(path: str, json_out: str) -> None:
    """In the child: Django's setup (it imports torch through the admin's imports), then the command."""
    import io
    import resource

    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
    import django
    from django.core.management import call_command

    django.setup()
    setup = time.perf_counter() - started
    started, started_cpu = time.perf_counter(), time.process_time()
    call_command("benchmark_report", path=path, json_out=Path(json_out), stdout=io.StringIO())
    print(
        json.dumps(
            {
                "setup_seconds": setup,
                "report_seconds": time.perf_counter() - started,
                "report_cpu_seconds": time.process_time() - started_cpu,
                "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="write the timings here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rounds.parquet"
        started = time.perf_counter()
        synthetic_export(rows=args.rows, seed=0, out=path)
        print(
            f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB Parquet) in "
            f"{time.perf_counter() - started:.1f} s; load {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs"
        )
        runs = [report_once(path, Path(directory) / "tables.json") for _ in range(3)]
    wall, setup, report = (statistics.median(run[i] for run in runs) for i in range(3))
    peak, cpu = max(run[3] for run in runs), statistics.median(run[4] for run in runs)
    status = "PASS" if report <= GOAL_SECONDS and peak <= GOAL_BYTES else "FAIL"
    print(
        f"benchmark_report, {args.rows:,} Parquet rows, both tiers: the report {report:.2f} s (median of "
        f"{', '.join(f'{run[2]:.2f}' for run in runs)}; goal ≤ {GOAL_SECONDS:.0f} s; CPU {cpu:.2f} s), after "
        "Django's setup "
        f"{setup:.2f} s (whole command {wall:.2f} s); peak {peak / 1e9:.2f} GB (goal ≤ {GOAL_BYTES / 1e9:.2f} GB): "
        f"{status}; load {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": args.rows,
                    "runs": runs,
                    "report_seconds": report,
                    "setup_seconds": setup,
                    "wall_seconds": wall,
                    "peak_bytes": peak,
                    "report_cpu_seconds": cpu,
                    "status": status,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
