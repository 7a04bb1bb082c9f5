"""Load benchmark: N concurrent websocket players play whole games against the production stack on loopback.

The command line of `python -m bench.load` (what a run does: bench/load/__init__.py): the stack up, the
players' and throughput phases, the database check, the summary and the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import aiohttp

from bench.load.client import MAX_ROUNDS_PER_GAME
from bench.load.measure import (
    ConnectionSampler,
    CpuMeter,
    database_verify,
    noise_watch,
    raise_file_limit,
    server_log_problems,
    sizing,
)
from bench.load.players import PlayConfig, players_run
from bench.load.profile import Profiler
from bench.load.records import Ledger, percentiles
from bench.load.report import GOAL_P95_MS, GOAL_PLAYERS, report
from bench.load.stack import Stack, StackConfig, production_stack, say
from bench.load.throughput import throughput_run
from bench.load.worker_ratio import WorkerMeter
from bench.machine import load_average, other_pytest_running

MAX_PLAYERS = 2000  # bounded: this is a loopback benchmark, not a traffic generator
MAX_DURATION_S = 1800.0


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=GOAL_PLAYERS, help=f"concurrent players (at most {MAX_PLAYERS})")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per game (the game's default: 5)")
    parser.add_argument(
        "--think-s",
        type=float,
        nargs=2,
        default=(15.0, 45.0),
        metavar=("MIN", "MAX"),
        help="a player's time on a round, uniform in [MIN, MAX] seconds (people: tens of seconds)",
    )
    parser.add_argument("--ramp-s", type=float, default=60.0, help="players start evenly over this many seconds")
    parser.add_argument(
        "--duration-s",
        type=float,
        default=600.0,
        help=f"cap on the players' phase; still playing then = cut (at most {MAX_DURATION_S:g})",
    )
    parser.add_argument("--model-timeout-s", type=float, default=30.0, help="longest wait for model_ready")
    parser.add_argument(
        "--duplicate-fraction",
        type=float,
        default=0.1,
        help="guesses sent twice at once (a double click): must be stored once",
    )
    parser.add_argument("--request-timeout-s", type=float, default=30.0)
    parser.add_argument("--hammer-concurrency", type=int, default=50, help="clients of the throughput phase")
    parser.add_argument("--hammer-seconds", type=float, default=5.0, help="each of the four throughput windows")
    parser.add_argument("--hammer-rounds", type=int, default=3000, help="rounds started for the guess windows")
    parser.add_argument("--no-throughput", action="store_true", help="skip the throughput phase")
    parser.add_argument(
        "--server",
        choices=("daphne", "uvicorn"),
        default="daphne",
        help="daphne: the README's production command, one process; uvicorn: --web-processes of them",
    )
    parser.add_argument("--web-processes", type=int, default=1, help="uvicorn --workers (Daphne: always 1)")
    # 0, as the settings' default now is: under ASGI every request runs in a thread of its own, so persistent
    # connections pile up (measured: 99 connections from 10 clients, then "too many clients"; bench/README.md).
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="DATABASE_CONN_MAX_AGE for the server and worker; -1: the settings' default",
    )
    parser.add_argument("--worker-threads", type=int, default=1, help="torch threads of the inference worker")
    parser.add_argument(
        "--db-pool",
        type=int,
        default=0,
        metavar="N",
        help="web server: PLANET_DB_POOL, Django's psycopg pool of at most N connections per process "
        "(needs psycopg-pool); 0: none, as the settings' default",
    )
    parser.add_argument(
        "--layer-capacity",
        type=int,
        default=0,
        metavar="N",
        help="PLANET_CHANNEL_CAPACITY, the Redis channel layer's capacity; 0: the settings' default",
    )
    parser.add_argument(
        "--serving-stock",
        type=int,
        default=0,
        metavar="N",
        help="PLANET_SERVING_STOCK: encodings the worker stocks ahead per image; 0: the default, none",
    )
    parser.add_argument("--checkpoint", type=Path, help="a planet_engine checkpoint (default: train a tiny one)")
    parser.add_argument("--panoramas", type=int, default=64, help="synthetic set size (>= rounds per game)")
    parser.add_argument("--image-size", type=size, default=(640, 480), help="served photo size, WIDTHxHEIGHT")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/",
        help="server on which the throwaway database planet_load_<pid> is created",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="flushed before and after (not 0-3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and database")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy the web server and the worker while the players play: flame graphs (SVG), "
        "collapsed stacks and top-frames.md into DIR",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.players <= MAX_PLAYERS:
        parser.error(f"--players must be between 1 and {MAX_PLAYERS}")
    if not 0 < args.duration_s <= MAX_DURATION_S:
        parser.error(f"--duration-s must be between 0 and {MAX_DURATION_S:g}")
    if not 1 <= args.rounds <= min(MAX_ROUNDS_PER_GAME, args.panoramas):
        parser.error("--rounds must be between 1 and min(50, --panoramas)")
    if args.server == "daphne" and args.web_processes != 1:
        parser.error("Daphne serves from one process; use --server uvicorn for --web-processes > 1")
    return args


async def benchmark(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    ledger = Ledger()
    config = PlayConfig(
        rounds=args.rounds,
        think_s=tuple(args.think_s),
        model_timeout_s=args.model_timeout_s,
        duplicate_fraction=args.duplicate_fraction,
        request_timeout_s=args.request_timeout_s,
    )
    noise: list[bool] = []
    stop_watch = asyncio.Event()
    watch = asyncio.create_task(noise_watch(noise, stop_watch))
    meter = CpuMeter(stack)
    worker_meter = WorkerMeter(stack)
    with (
        ConnectionSampler(stack.database_url) as sampler,
        Profiler(stack, args.profile) if args.profile else nullcontext() as profiler,
    ):
        play = await players_run(
            base_url=stack.base_url,
            players=args.players,
            ramp_s=args.ramp_s,
            duration_s=args.duration_s,
            config=config,
            ledger=ledger,
            seed=args.seed,
        )
        play["postgres_connections"] = await sampler.result()
    cpu_play = meter.cores()
    # Each tier's CPU per round played (a player at 15-45 s a round plays about two a minute): the sizing unit.
    cpu_per_round_ms = {
        name: round(1000 * cores * play["seconds"] / max(1, play["rounds_guessed"]), 1)
        for name, cores in cpu_play.items()
        if name in ("web", "worker", "rest")
    }
    players_sizing = sizing(cpu_per_round_ms, think_s=config.think_s, cores=os.cpu_count() or 1)
    profile = profiler.results() if profiler else None
    latency = {name: percentiles(values) for name, values in ledger.latencies_ms.items()}
    throughput = cpu_throughput = None
    if not args.no_throughput:
        meter = CpuMeter(stack)
        with ConnectionSampler(stack.database_url) as sampler:
            throughput = await throughput_run(
                stack=stack,
                clients=args.hammer_concurrency,
                rounds=args.hammer_rounds,
                seconds=args.hammer_seconds,
                ledger=ledger,
                timeout_s=args.request_timeout_s,
                seed=args.seed,
            )
            throughput["postgres_connections"] = await sampler.result()
        cpu_throughput = meter.cores()
    stop_watch.set()
    await watch
    # After the throughput phase, whose burst of rounds keeps the worker's batches full.
    worker = worker_meter.result(stack.checkpoint_copy() if stack.checkpoint else None)
    database = database_verify(stack.database_url, ledger)
    guess = latency.get("guess", {"n": 0})
    goals = {
        "players": play["peak_connected"] >= GOAL_PLAYERS,
        "p95": guess["n"] > 0 and guess["p95"] < GOAL_P95_MS,
        "integrity": (
            database["lost"]
            == database["altered"]
            == database["duplicated_rows"]
            == database["duplicated_201s"]
            == database["repeat_mismatches"]
            == play["location_frames"]
            == 0
        ),
    }
    return {
        "play": play,
        "latency_ms": latency,
        "throughput": throughput,
        "database": database,
        "errors": dict(ledger.errors),
        "cpu_play": cpu_play,
        "cpu_throughput": cpu_throughput,
        "goals": goals,
        "profile": profile,
        "worker": worker,
        "cpu_per_round_ms": cpu_per_round_ms,
        "sizing": players_sizing,
        "other_pytest_share": round(sum(noise) / len(noise), 2) if noise else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    files = raise_file_limit()
    if files < 4 * args.players + 200:
        say(f"warning: only {files} open files allowed; {args.players} players need about {4 * args.players}")
    if other_pytest_running():
        say("warning: a pytest run is using this machine; numbers will be noisy")
    load_before = load_average()
    began = time.monotonic()
    config = StackConfig(
        postgres_url=args.postgres_url,
        redis_url=args.redis_url,
        server=args.server,
        web_processes=args.web_processes,
        panoramas=args.panoramas,
        image_size=args.image_size,
        checkpoint=args.checkpoint,
        conn_max_age=args.conn_max_age,
        worker_threads=args.worker_threads,
        db_pool=args.db_pool,
        layer_capacity=args.layer_capacity,
        serving_stock=args.serving_stock,
        keep=args.keep,
    )
    with production_stack(config) as stack:
        results = asyncio.run(benchmark(stack, args))
        for name in stack.processes:
            if stack.processes[name].poll() is not None:
                results["errors"][f"{name} process exited {stack.processes[name].returncode}"] = 1
        results["server_log"] = server_log_problems(stack)
        for name, found in results["server_log"].items():
            for cause, count in found["exceptions"].items():
                results["errors"][f"{name} log: {cause}"] = count
            if found["events_dropped_over_capacity"]:
                results["errors"][f"{name} log: websocket events dropped, channel layer over capacity"] = found[
                    "events_dropped_over_capacity"
                ]
    results["arguments"] = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    results["seconds"] = time.monotonic() - began
    results["environment"] = {
        "server": args.server if args.server == "daphne" else f"uvicorn x{args.web_processes}",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "load_before": rounded(load_before),
        "load_after": rounded(load_average()),
        "open_files_limit": files,
    }
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    # Integrity must hold at any size; the speed goals are the at its size only.
    at_goal_size = args.players >= GOAL_PLAYERS
    return 0 if results["goals"]["integrity"] and (all(results["goals"].values()) or not at_goal_size) else 1
