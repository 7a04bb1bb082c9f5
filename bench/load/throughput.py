"""bench/load's throughput phase: fresh guesses (201) and a bare Django JSON view, requested back to back
by the same clients in interleaved windows."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psycopg

from bench.load.client import MAX_ROUNDS_PER_GAME, Client, loopback_address, random_point
from bench.load.records import Ledger, percentiles
from bench.load.stack import SET_NAME, Stack, say


@dataclass
class HammerClient:
    client: Client
    rounds: list[str] = field(default_factory=list)  # started rounds this client has not guessed yet


async def hammer_prepare(hammers: list[HammerClient], *, rounds: int, ledger: Ledger) -> None:
    """Games created and rounds started beforehand, so the timed windows post only guesses."""
    per_client = max(1, math.ceil(rounds / len(hammers)))

    async def prepare(hammer: HammerClient) -> None:
        if not await hammer.client.begin(ledger):
            return
        left = per_client
        while left > 0:
            size = min(left, MAX_ROUNDS_PER_GAME)
            created = await hammer.client.call(
                ledger, "hammer create", "POST", "/api/games", 201, {"set": SET_NAME, "rounds": size}
            )
            if created is None:
                return
            game_id = json.loads(created)["game"]
            for number in range(1, size + 1):
                started = await hammer.client.call(
                    ledger, "hammer start", "POST", f"/api/games/{game_id}/rounds/{number}/start", 200
                )
                if started is not None:
                    hammer.rounds.append(json.loads(started)["round"])
            left -= size

    await asyncio.gather(*(prepare(hammer) for hammer in hammers))


async def hammer_window(
    hammers: list[HammerClient], *, kind: str, seconds: float, ledger: Ledger, rng: random.Random
) -> dict[str, Any]:
    """Every client requests back to back for `seconds`; counts the answers that arrived inside the window."""
    began = time.monotonic()
    end = began + seconds
    ok = failed = 0
    ran_out = 0  # clients whose started rounds ran out before the window ended: less concurrency from then on
    last = began
    latencies: list[float] = []

    async def loop(hammer: HammerClient) -> None:
        nonlocal ok, failed, ran_out, last
        while time.monotonic() < end:
            try:
                if kind == "bare":
                    status, _, ms = await hammer.client.request("GET", "/bench/bare")
                    good = status == 200
                else:
                    if not hammer.rounds:
                        ran_out += 1
                        return
                    round_id, sent = hammer.rounds.pop(), random_point(rng)
                    status, payload, ms = await hammer.client.request(
                        "POST", f"/api/rounds/{round_id}/guess", {"latitude": sent[0], "longitude": sent[1]}
                    )
                    ledger.guess_answer(
                        round_id=round_id,
                        player_key=hammer.client.player_key,
                        sent=sent,
                        status=status,
                        body=payload,
                        phase="throughput",
                    )
                    good = status == 201
                if not good and kind == "bare":  # (guess_answer counts a guess's unexpected status)
                    ledger.errors[f"throughput bare: HTTP {status}"] += 1
            except (TimeoutError, aiohttp.ClientError) as error:
                ledger.errors[f"throughput {kind}: {type(error).__name__}"] += 1
                good, ms = False, None
            now = time.monotonic()
            if now <= end:
                last = max(last, now)
                ok += good
                failed += not good
                if ms is not None:
                    latencies.append(ms)

    await asyncio.gather(*(loop(hammer) for hammer in hammers))
    # A window whose clients all ran out of rounds early is measured over the time they were busy.
    elapsed = (last - began) if ran_out == len(hammers) else seconds
    return {
        "kind": kind,
        "seconds": elapsed,
        "ok": ok,
        "failed": failed,
        "ran_out": ran_out,
        "requests_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "latency_ms": percentiles(latencies),
    }


def pending_rounds(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM games_round WHERE served_at IS NOT NULL AND model_status = 'pending'"
        ).fetchone()
    return int(row[0]) if row else 0


async def throughput_run(
    *, stack: Stack, clients: int, rounds: int, seconds: float, ledger: Ledger, timeout_s: float, seed: int
) -> dict[str, Any]:
    say(f"throughput: {clients} clients starting {rounds} rounds to guess on")
    began = time.monotonic()
    hammers = [
        HammerClient(Client(stack.base_url, timeout_s=timeout_s, source=loopback_address(1, i))) for i in range(clients)
    ]
    try:
        return await throughput_measure(
            stack=stack, hammers=hammers, rounds=rounds, seconds=seconds, ledger=ledger, seed=seed, began=began
        )
    finally:
        for hammer in hammers:
            await hammer.client.close()


async def throughput_measure(
    *, stack: Stack, hammers: list[HammerClient], rounds: int, seconds: float, ledger: Ledger, seed: int, began: float
) -> dict[str, Any]:
    await hammer_prepare(hammers, rounds=rounds, ledger=ledger)
    prepared = sum(len(h.rounds) for h in hammers)
    # Let the worker answer them first, so its forward passes do not share the CPU with one window only.
    drain_deadline = time.monotonic() + 300
    while (left := pending_rounds(stack.database_url)) and time.monotonic() < drain_deadline:
        await asyncio.sleep(1.0)
    say(
        f"throughput: {prepared} rounds ready in {time.monotonic() - began:.0f} s ({left} still pending); "
        f"windows of {seconds:g} s"
    )
    rng = random.Random(seed)
    windows = []
    # Interleaved, so a burst of load from elsewhere on a shared machine lands on both kinds alike.
    for kind in ("bare", "guess", "bare", "guess"):
        windows.append(await hammer_window(hammers, kind=kind, seconds=seconds, ledger=ledger, rng=rng))

    def rate(kind: str) -> float:
        chosen = [w for w in windows if w["kind"] == kind]
        total = sum(w["seconds"] for w in chosen)
        return sum(w["ok"] for w in chosen) / total if total else 0.0

    guess_rate, bare_rate = rate("guess"), rate("bare")
    return {
        "clients": len(hammers),
        "rounds_prepared": prepared,
        "pending_before_windows": left,
        "windows": windows,
        "guess_requests_per_s": guess_rate,
        "bare_requests_per_s": bare_rate,
        "ratio": guess_rate / bare_rate if bare_rate else 0.0,
        "ran_out": max(w["ran_out"] for w in windows),
    }
