"""bench/load's measurements beside the clients' own: the database check, PostgreSQL connections, CPU per
process group, errors in the server logs, and whether someone else's tests shared the machine."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from bench.load.records import Ledger, percentiles
from bench.load.stack import Stack
from bench.machine import machine_cpu_seconds, other_pytest_running


def database_verify(database_url: str, ledger: Ledger) -> dict[str, Any]:
    """Compare what the clients were told with what PostgreSQL holds."""
    with psycopg.connect(database_url) as connection:
        stored_rows = connection.execute(
            "SELECT r.public_id, g.player_key, g.latitude, g.longitude, g.model_committed_first "
            "FROM games_guess g JOIN games_round r ON r.id = g.round_id"
        ).fetchall()
        duplicated = connection.execute(
            "SELECT count(*) FROM (SELECT round_id, player_key FROM games_guess GROUP BY 1, 2 "
            "HAVING count(*) > 1) AS twice"
        ).fetchone()
        statuses: dict[str, int] = dict(
            connection.execute(
                "SELECT model_status, count(*) FROM games_round WHERE served_at IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
        # Served -> the model's guess committed, on the server's clock, for every round that got one.
        model_s: dict[str, Decimal] = dict(
            connection.execute(
                "SELECT public_id, extract(epoch FROM model_ready_at - served_at) FROM games_round "
                "WHERE model_ready_at IS NOT NULL"
            ).fetchall()
        )
    stored = {(r[0], r[1]): (r[2], r[3], r[4]) for r in stored_rows}
    acknowledged = ledger.acknowledged
    lost = [key for key in acknowledged if key not in stored]
    altered = [key for key, value in acknowledged.items() if key in stored and stored[key][:2] != value[:2]]
    unacknowledged = [key for key in stored if key not in acknowledged]
    played = [key for key, value in acknowledged.items() if value[2] == "play" and key in stored]
    return {
        "stored_guesses": len(stored_rows),
        "acknowledged": len(acknowledged),
        "lost": len(lost),
        "altered": len(altered),
        "unacknowledged": len(unacknowledged),
        "duplicated_rows": int(duplicated[0]) if duplicated else 0,
        "duplicated_201s": ledger.created_twice,
        "repeats_answered_200": ledger.repeats,
        "repeat_mismatches": ledger.repeat_mismatches,
        "play_guesses_model_committed_first": sum(bool(stored[key][2]) for key in played),
        "play_guesses": len(played),
        "served_rounds_by_model_status": statuses,
        # The players' rounds only: the throughput phase starts its rounds in a burst, on purpose.
        "served_to_model_committed_s": percentiles([float(model_s[key[0]]) for key in played if key[0] in model_s]),
        "lost_examples": lost[:5],
        "unacknowledged_examples": unacknowledged[:5],
    }


# ----------------------------------------------------------------------------------------------- machine


class ConnectionSampler:
    """Peak PostgreSQL connections to the benchmark's database, and to the whole server (max_connections is
    shared with everything else on it), sampled every half second while a phase runs."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.peak_ours = self.peak_server = 0
        self.max_connections = 0
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def sample(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as connection:
            row = await (await connection.execute("SHOW max_connections")).fetchone()
            self.max_connections = int(row[0]) if row else 0
            while not self.stop.is_set():
                cursor = await connection.execute(
                    "SELECT count(*) FILTER (WHERE datname = current_database()), count(*) FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend'"
                )
                row = await cursor.fetchone()
                if row:
                    self.peak_ours = max(self.peak_ours, int(row[0]) - 1)  # less this sampler's own
                    self.peak_server = max(self.peak_server, int(row[1]))
                try:
                    await asyncio.wait_for(self.stop.wait(), timeout=0.5)
                except TimeoutError:
                    pass

    def __enter__(self) -> ConnectionSampler:
        self.task = asyncio.create_task(self.sample())
        return self

    async def result(self) -> dict[str, int]:
        self.stop.set()
        if self.task is not None:
            await self.task
        return {
            "peak_benchmark_database": self.peak_ours,
            "peak_server": self.peak_server,
            "max_connections": self.max_connections,
        }

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


def group_cpu_seconds(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each process group (a server and its workers, the inference worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(groups, 0.0)
    by_group = {pgid: name for name, pgid in groups.items()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = by_group.get(int(fields[2]))  # fields after the name: state, ppid, pgrp, ...
        if name is not None:
            used[name] += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


class CpuMeter:
    """Cores used during a phase by the client (this process), each server process group and everything else
    (PostgreSQL, Redis, and whatever else runs on the machine)."""

    def __init__(self, stack: Stack) -> None:
        self.groups = stack.process_groups()
        self.began = time.monotonic()
        self.machine = self.machine_seconds()
        self.own = self.own_seconds()
        self.group = group_cpu_seconds(self.groups)

    @staticmethod
    def machine_seconds() -> tuple[float, float]:
        """(busy, stolen) seconds of the machine; zeros where /proc/stat is missing (then so is the rest)."""
        return machine_cpu_seconds() or (0.0, 0.0)

    @staticmethod
    def own_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def cores(self) -> dict[str, float]:
        seconds = time.monotonic() - self.began
        busy, stolen = (after - before for after, before in zip(self.machine_seconds(), self.machine, strict=True))
        group = group_cpu_seconds(self.groups)
        result = {name: (group[name] - self.group[name]) / seconds for name in self.groups}
        result["client"] = (self.own_seconds() - self.own) / seconds
        result["rest"] = max(0.0, busy / seconds - sum(result.values()))
        result["machine_busy"] = busy / seconds
        result["steal"] = stolen / seconds
        return {name: round(value, 2) for name, value in result.items()}


def sizing(cpu_per_round_ms: dict[str, float], *, think_s: tuple[float, float], cores: int) -> dict[str, Any]:
    """What a player costs each tier at the run's pace (one round per mean think time): CPU-seconds per player-minute,
    the players one core of that tier carries, and all tiers together (web, worker, PostgreSQL and Redis sharing
    cores, as on this box): the players per core and the players this machine could carry with every core busy."""
    pace = 60.0 / ((think_s[0] + think_s[1]) / 2)
    per_minute = {name: ms / 1000 * pace for name, ms in cpu_per_round_ms.items()}
    total = sum(per_minute.values())
    return {
        "rounds_per_player_minute": round(pace, 2),
        "cpu_s_per_player_minute": {name: round(value, 3) for name, value in per_minute.items()},
        "players_per_core": {name: int(60 / value) if value > 0 else None for name, value in per_minute.items()},
        "players_per_core_all_tiers": int(60 / total) if total > 0 else None,
        "players_this_machine": int(cores * 60 / total) if total > 0 else None,
    }


def server_log_problems(stack: Stack) -> dict[str, Any]:
    """Errors the server and worker logged (the server prints 500 tracebacks there: bench/load/asgi.py): each
    exception's last line, counted, so an error the clients saw only as a status has its cause beside it."""
    problems: dict[str, Any] = {}
    for name, path in stack.logs.items():
        text = path.read_text(errors="replace") if path.is_file() else ""
        causes: Counter[str] = Counter()
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith((" ", "\t"))), None)
                if end is not None:
                    causes[lines[end][:160]] += 1
        problems[name] = {
            "internal_server_errors": text.count("Internal Server Error:"),
            # channels_redis' INFO line when a group_send dropped an event (bench/load/asgi.py)
            "events_dropped_over_capacity": text.count("channels over capacity in group"),
            "exceptions": dict(causes.most_common(8)),
        }
    return problems


def raise_file_limit() -> int:
    """Every player holds two sockets here and two in the server (which inherits this limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def noise_watch(samples: list[bool], stop: asyncio.Event) -> None:
    """Every 5 s: is someone else's test run sharing the machine? The report gives the share of samples."""
    while not stop.is_set():
        samples.append(other_pytest_running())
        try:
            await asyncio.wait_for(stop.wait(), timeout=5.0)
        except TimeoutError:
            pass
