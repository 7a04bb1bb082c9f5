"""Load benchmark: N concurrent websocket players play whole games against the production stack on loopback.

bench/load_stack.py builds the stack in a temporary folder (a throwaway PostgreSQL database, Redis database 5,
migrations, a synthetic panorama set, a tiny checkpoint, the ASGI server and a `celery worker -Q inference`)
and tears it down afterwards. Then:

1. Players (asyncio, one HTTP session and one websocket each) start over --ramp-s seconds. Each takes a guest
   session (GET /api/session: session and CSRF cookies), creates a solo game of --rounds rounds, opens
   /ws/games/<id>, and per round: starts it, loads its image, thinks for a random --think-s time while the
   worker predicts, waits for the model_ready event (at most --model-timeout-s), and posts a guess, timed.
   A --duplicate-fraction of guesses is sent twice at once, as a double click would, and every guess that
   fails in transit is retried once: both must be answered 200 with the first guess, never stored twice.
2. Throughput: C clients (--hammer-concurrency) post guesses on rounds started beforehand, each a fresh guess
   (201, the full write path: row lock, insert, score, events on commit), and GET a bare Django JSON view
   (bench/load_urls.py: same server, same middleware, no database) in interleaved windows; the ratio of the
   two request rates is reported.
3. The database is checked directly: every guess acknowledged with 201 is stored once with the coordinates
   sent, nothing is stored twice, and nothing is stored that no client was told about. Each finished game must
   also have received its four events per round (round_started, model_ready, player_guessed, round_complete),
   none carrying a location; the server's and worker's logs are scanned for errors and dropped events.

The stack runs the game's settings (bench/load_settings.py adds only the bare view and error logging) with
DATABASE_CONN_MAX_AGE=0 and a one-thread worker, both explained in bench/README.md; --db-pool N,
--layer-capacity N and --server uvicorn --web-processes N try the deployment changes that README measures.

    .venv/bin/python bench/load.py                                   # the issue's goal: 500 players
    .venv/bin/python bench/load.py --players 20 --rounds 2 --think-s 1 3 --ramp-s 2 --hammer-seconds 2 \
        --hammer-rounds 200                                          # a one-minute smoke run
    .venv/bin/python bench/load.py --server uvicorn --web-processes 2 --db-pool 20 --layer-capacity 10000 \
        --json out.json                                              # the changes that meet the goal here

Traffic goes to 127.0.0.1 only; the run stops by itself (--duration-s caps the players' phase). Results and
the machine they were measured on: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.load_measure import (  # noqa: E402
    ConnectionSampler,
    CpuMeter,
    database_verify,
    noise_watch,
    other_pytest_running,
    percentiles,
    raise_file_limit,
    server_log_problems,
)
from bench.load_players import MAX_ROUNDS_PER_GAME, Ledger, PlayConfig, players_run  # noqa: E402
from bench.load_stack import Stack, StackConfig, production_stack, say  # noqa: E402
from bench.load_throughput import throughput_run  # noqa: E402

GOAL_PLAYERS = 500
GOAL_P95_MS = 200.0
MAX_PLAYERS = 2000            # bounded: this is a loopback benchmark, not a traffic generator
MAX_DURATION_S = 1800.0


# ----------------------------------------------------------------------------------------------- report

def ms(stats: dict[str, float | int], key: str) -> str:
    return f"{stats[key]:.0f}" if key in stats else "-"


def report(results: dict[str, Any]) -> str:
    args, play, db, cpu = results["arguments"], results["play"], results["database"], results["cpu_play"]
    connections = play["postgres_connections"]
    guess = results["latency_ms"].get("guess", {"n": 0})
    lines = [
        f"load benchmark: {args['players']} players x {args['rounds']} rounds, think {args['think_s'][0]:g}-"
        f"{args['think_s'][1]:g} s, ramp {args['ramp_s']:g} s; {results['environment']['server']} + solo "
        f"inference worker, PostgreSQL, Redis; {results['environment']['cpu_count']} CPUs; "
        f"{results['seconds']:.0f} s in all",
        "",
        f"players      {play['started']} started, peak {play['peak_connected']} connected at once "
        f"(all {play['players']} for {play['all_connected_s']:g} s), {play['finished']} finished, "
        f"{play['cut_by_cap']} cut by the {args['duration_s']:g} s cap",
        f"guesses      {play['rounds_guessed']} rounds guessed in {play['seconds']:.0f} s; "
        f"{db['repeats_answered_200']} repeated submissions answered 200",
        f"latency      guess POST p50 {ms(guess, 'p50')} / p95 {ms(guess, 'p95')} / p99 {ms(guess, 'p99')} / "
        f"max {ms(guess, 'max')} ms (n={guess['n']})   goal p95 < {GOAL_P95_MS:.0f} ms: "
        f"{'PASS' if results['goals']['p95'] else 'FAIL'}",
    ]
    for endpoint in ("start", "image", "create", "session", "summary"):
        stats = results["latency_ms"].get(endpoint)
        if stats and stats["n"]:
            lines.append(f"             {endpoint:<8} p50 {ms(stats, 'p50')} / p95 {ms(stats, 'p95')} / "
                         f"p99 {ms(stats, 'p99')} ms (n={stats['n']})")
    statuses = db["served_rounds_by_model_status"]
    ready_s = play["model_ready_s"]
    lines += [
        f"model        {play['model_ready_in_time']} rounds model_ready in time, {play['model_wait_timeouts']} "
        f"waits over {args['model_timeout_s']:g} s; start -> model_ready p50 {ready_s.get('p50', '-')} s, "
        f"p95 {ready_s.get('p95', '-')} s (server: served -> committed p95 "
        f"{db['served_to_model_committed_s'].get('p95', '-')} s); served rounds by status {statuses}",
        f"integrity    {db['stored_guesses']} stored, {db['acknowledged']} acknowledged (201): lost {db['lost']}, "
        f"duplicated {db['duplicated_rows'] + db['duplicated_201s']}, altered {db['altered']}, answers not "
        f"matching the first guess {db['repeat_mismatches']}, stored unacknowledged {db['unacknowledged']}; "
        f"socket frames with a location {play['location_frames']}: "
        f"{'PASS' if results['goals']['integrity'] else 'FAIL'}",
        f"             {db['play_guesses_model_committed_first']} of {db['play_guesses']} players' guesses "
        "locked after the model's guess (counted in the benchmark)",
        f"events       {play['events_missing']} of {play['events_expected']} websocket events had not arrived when "
        f"their player left (5 s after its last guess); received {play['events']}",
    ]
    errors = results["errors"]
    lines.append(f"errors       {sum(errors.values())}" + ("" if not errors else ": " + "; ".join(
        f"{name} x{count}" for name, count in Counter(errors).most_common(6))))
    throughput = results.get("throughput")
    if throughput:
        clients_out = (f"; {throughput['ran_out']} clients ran out of started rounds in a window"
                       if throughput["ran_out"] else "")
        lines.append(f"throughput   guess POST (fresh 201s) {throughput['guess_requests_per_s']:.0f} req/s vs bare "
                     f"Django JSON view {throughput['bare_requests_per_s']:.0f} req/s: ratio "
                     f"{throughput['ratio']:.2f} ({throughput['clients']} clients, 2 x {args['hammer_seconds']:g} s "
                     f"each, interleaved{clients_out})")
    lines += [
        f"CPU (cores)  while playing: web {cpu.get('web', 0):.2f}, worker {cpu.get('worker', 0):.2f}, client "
        f"{cpu['client']:.2f}, rest (PostgreSQL, Redis, others) {cpu['rest']:.2f}; machine busy "
        f"{cpu['machine_busy']:.2f}, steal {cpu['steal']:.2f}; client loop lag p95 "
        f"{play['client_loop_lag_ms'].get('p95', '-')} ms",
        f"PostgreSQL   peak connections while playing: {connections['peak_benchmark_database']} to the benchmark's "
        f"database, {connections['peak_server']} of max_connections {connections['max_connections']} on the server"
        + (f"; throughput phase {throughput['postgres_connections']['peak_benchmark_database']}"
           if throughput else ""),
        f"noise        another pytest run shared the machine in {100 * results['other_pytest_share']:.0f}% of 5 s "
        f"samples; load average {results['environment']['load_before']} before, "
        f"{results['environment']['load_after']} after",
        f"goal         {GOAL_PLAYERS} concurrent players, guess p95 < {GOAL_P95_MS:.0f} ms, nothing lost or "
        f"duplicated: {'PASS' if all(results['goals'].values()) else 'FAIL'}",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- main

def size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=GOAL_PLAYERS, help=f"concurrent players (at most {MAX_PLAYERS})")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per game (the game's default: 5)")
    parser.add_argument("--think-s", type=float, nargs=2, default=(15.0, 45.0), metavar=("MIN", "MAX"),
                        help="a player's time on a round, uniform in [MIN, MAX] seconds (people: tens of seconds)")
    parser.add_argument("--ramp-s", type=float, default=60.0, help="players start evenly over this many seconds")
    parser.add_argument("--duration-s", type=float, default=600.0,
                        help=f"cap on the players' phase; still playing then = cut (at most {MAX_DURATION_S:g})")
    parser.add_argument("--model-timeout-s", type=float, default=30.0, help="longest wait for model_ready")
    parser.add_argument("--duplicate-fraction", type=float, default=0.1,
                        help="guesses sent twice at once (a double click): must be stored once")
    parser.add_argument("--request-timeout-s", type=float, default=30.0)
    parser.add_argument("--hammer-concurrency", type=int, default=50, help="clients of the throughput phase")
    parser.add_argument("--hammer-seconds", type=float, default=5.0, help="each of the four throughput windows")
    parser.add_argument("--hammer-rounds", type=int, default=3000, help="rounds started for the guess windows")
    parser.add_argument("--no-throughput", action="store_true", help="skip the throughput phase")
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne",
                        help="daphne: the README's production command, one process; uvicorn: --web-processes of them")
    parser.add_argument("--web-processes", type=int, default=1, help="uvicorn --workers (Daphne: always 1)")
    # 0, not the settings' 60: under ASGI every request runs in a thread of its own, so persistent connections
    # pile up (measured: 99 connections from 10 clients, then "too many clients"; bench/README.md).
    parser.add_argument("--conn-max-age", type=int, default=0,
                        help="DATABASE_CONN_MAX_AGE for the server and worker; -1: the settings' default")
    parser.add_argument("--worker-threads", type=int, default=1, help="torch threads of the inference worker")
    parser.add_argument("--db-pool", type=int, default=0, metavar="N",
                        help="web server: Django's psycopg pool of at most N connections per process (an experiment "
                        "the game's settings do not offer; needs psycopg-pool)")
    parser.add_argument("--layer-capacity", type=int, default=0, metavar="N",
                        help="Redis channel layer capacity (an experiment; the game's settings keep channels_redis' "
                        "100)")
    parser.add_argument("--checkpoint", type=Path, help="a planet_engine checkpoint (default: train a tiny one)")
    parser.add_argument("--panoramas", type=int, default=64, help="synthetic set size (>= rounds per game)")
    parser.add_argument("--image-size", type=size, default=(640, 480), help="served photo size, WIDTHxHEIGHT")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/",
                        help="server on which the throwaway database planet_load_<pid> is created")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="flushed before and after (not 0-3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and database")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
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
    config = PlayConfig(rounds=args.rounds, think_s=tuple(args.think_s), model_timeout_s=args.model_timeout_s,
                        duplicate_fraction=args.duplicate_fraction, request_timeout_s=args.request_timeout_s)
    noise: list[bool] = []
    stop_watch = asyncio.Event()
    watch = asyncio.create_task(noise_watch(noise, stop_watch))
    meter = CpuMeter(stack)
    with ConnectionSampler(stack.database_url) as sampler:
        play = await players_run(base_url=stack.base_url, players=args.players, ramp_s=args.ramp_s,
                                 duration_s=args.duration_s, config=config, ledger=ledger, seed=args.seed)
        play["postgres_connections"] = await sampler.result()
    cpu_play = meter.cores()
    latency = {name: percentiles(values) for name, values in ledger.latencies_ms.items()}
    throughput = cpu_throughput = None
    if not args.no_throughput:
        meter = CpuMeter(stack)
        with ConnectionSampler(stack.database_url) as sampler:
            throughput = await throughput_run(stack=stack, clients=args.hammer_concurrency,
                                              rounds=args.hammer_rounds, seconds=args.hammer_seconds,
                                              ledger=ledger, timeout_s=args.request_timeout_s, seed=args.seed)
            throughput["postgres_connections"] = await sampler.result()
        cpu_throughput = meter.cores()
    stop_watch.set()
    await watch
    database = database_verify(stack.database_url, ledger)
    guess = latency.get("guess", {"n": 0})
    goals = {
        "players": play["peak_connected"] >= GOAL_PLAYERS,
        "p95": guess["n"] > 0 and guess["p95"] < GOAL_P95_MS,
        "integrity": (database["lost"] == database["altered"] == database["duplicated_rows"]
                      == database["duplicated_201s"] == database["repeat_mismatches"] == play["location_frames"]
                      == 0),
    }
    return {"play": play, "latency_ms": latency, "throughput": throughput, "database": database,
            "errors": dict(ledger.errors), "cpu_play": cpu_play, "cpu_throughput": cpu_throughput, "goals": goals,
            "other_pytest_share": round(sum(noise) / len(noise), 2) if noise else 0.0}


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    files = raise_file_limit()
    if files < 4 * args.players + 200:
        say(f"warning: only {files} open files allowed; {args.players} players need about {4 * args.players}")
    if other_pytest_running():
        say("warning: a pytest run is using this machine; numbers will be noisy")
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    config = StackConfig(postgres_url=args.postgres_url, redis_url=args.redis_url, server=args.server,
                         web_processes=args.web_processes, panoramas=args.panoramas, image_size=args.image_size,
                         checkpoint=args.checkpoint, conn_max_age=args.conn_max_age,
                         worker_threads=args.worker_threads, db_pool=args.db_pool,
                         layer_capacity=args.layer_capacity, keep=args.keep)
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
                results["errors"][f"{name} log: websocket events dropped, channel layer over capacity"] = \
                    found["events_dropped_over_capacity"]
    results["arguments"] = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    results["seconds"] = time.monotonic() - began
    results["environment"] = {
        "server": args.server if args.server == "daphne" else f"uvicorn x{args.web_processes}",
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "aiohttp": aiohttp.__version__,
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        "open_files_limit": files,
    }
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    # Integrity must hold at any size; the speed goals are the at its size only.
    at_goal_size = args.players >= GOAL_PLAYERS
    return 0 if results["goals"]["integrity"] and (all(results["goals"].values()) or not at_goal_size) else 1


if __name__ == "__main__":
    raise SystemExit(main())
