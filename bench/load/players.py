"""bench/load's players: one browser each (cookies, CSRF, a websocket), playing whole games, every answer
written in the ledger the database check compares with."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.load.client import Client, guess_post, loopback_address, random_point
from bench.load.records import Ledger, percentiles
from bench.load.stack import SET_NAME, say

LOCATION_KEYS = {"latitude", "longitude", "truth", "human", "model_latitude", "top_cells"}
# What a solo round sends on its game's socket (gameserver/events.py), once each.
ROUND_EVENTS = ("round_started", "model_ready", "player_guessed", "round_complete")


# ----------------------------------------------------------------------------------------------- records


@dataclass
class Progress:
    started: int = 0
    connected: int = 0
    peak_connected: int = 0
    full_since: float | None = None  # when all players were first connected at once
    full_seconds: float = 0.0  # how long all of them were
    finished: int = 0
    players: int = 0

    def connect(self, now: float) -> None:
        self.connected += 1
        self.peak_connected = max(self.peak_connected, self.connected)
        if self.connected == self.players:
            self.full_since = now

    def disconnect(self, now: float) -> None:
        if self.connected == self.players and self.full_since is not None:
            self.full_seconds += now - self.full_since
            self.full_since = None
        self.connected -= 1


@dataclass
class PlayerLog:
    player_key: str = ""
    rounds_guessed: int = 0
    model_ready_in_time: int = 0
    model_wait_timeouts: int = 0
    model_ready_s: list[float] = field(default_factory=list)  # round start answered -> model_ready event
    location_frames: int = 0  # socket frames that carried a location: the design says never
    events_missing: int = 0  # of the four events each guessed round sends, those that never arrived
    events: Counter[str] = field(default_factory=Counter)
    finished: bool = False


# ----------------------------------------------------------------------------------------------- players


@dataclass(frozen=True)
class PlayConfig:
    rounds: int
    think_s: tuple[float, float]
    model_timeout_s: float
    duplicate_fraction: float
    request_timeout_s: float


class Arrivals:
    """The socket's events by (event, round), each an asyncio.Event a player can wait on."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, int], asyncio.Event] = {}

    def of(self, event: str, number: int) -> asyncio.Event:
        return self.events.setdefault((event, number), asyncio.Event())

    def missing(self, rounds: list[int]) -> int:
        """Events a solo game's guessed rounds must have produced, none of which may go missing."""
        return sum(not self.of(event, number).is_set() for number in rounds for event in ROUND_EVENTS)


async def events_read(ws: aiohttp.ClientWebSocketResponse, log: PlayerLog, arrivals: Arrivals) -> None:
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            continue
        frame = json.loads(message.data)
        log.events[str(frame.get("event"))] += 1
        if LOCATION_KEYS & set(frame):
            log.location_frames += 1
        if isinstance(frame.get("round"), int):
            arrivals.of(str(frame.get("event")), frame["round"]).set()


async def player_play(
    *,
    index: int,
    base_url: str,
    delay_s: float,
    config: PlayConfig,
    ledger: Ledger,
    log: PlayerLog,
    progress: Progress,
    rng: random.Random,
) -> None:
    await asyncio.sleep(delay_s)
    progress.started += 1
    client = Client(base_url, timeout_s=config.request_timeout_s, source=loopback_address(0, index))
    ws: aiohttp.ClientWebSocketResponse | None = None
    reader: asyncio.Task[None] | None = None
    try:
        if not await client.begin(ledger):
            return
        log.player_key = client.player_key
        created = await client.call(
            ledger, "create", "POST", "/api/games", 201, {"set": SET_NAME, "rounds": config.rounds}
        )
        if created is None:
            return
        game_id = json.loads(created)["game"]
        try:
            # Origin: the socket's AllowedHostsOriginValidator refuses a handshake without one, as for a page.
            ws = await client.http.ws_connect(
                f"{base_url.replace('http', 'ws', 1)}/ws/games/{game_id}", headers={"Origin": base_url}, autoping=True
            )
        except (TimeoutError, aiohttp.ClientError) as error:
            ledger.errors[f"websocket: {type(error).__name__}"] += 1
            return
        progress.connect(time.monotonic())
        arrivals = Arrivals()
        reader = asyncio.create_task(events_read(ws, log, arrivals))
        guessed: list[int] = []
        for number in range(1, config.rounds + 1):
            started = await client.call(ledger, "start", "POST", f"/api/games/{game_id}/rounds/{number}/start", 200)
            if started is None:
                return
            view = json.loads(started)
            answered_at = time.monotonic()
            # The human looks at the photo while the worker predicts: the think time runs from here.
            think_until = answered_at + rng.uniform(*config.think_s)
            event = arrivals.of("model_ready", number)
            if view.get("model_ready"):
                event.set()
            await client.call(ledger, "image", "GET", view["image_url"], 200)
            try:
                await asyncio.wait_for(
                    event.wait(), timeout=max(0.0, answered_at + config.model_timeout_s - time.monotonic())
                )
                log.model_ready_in_time += 1
                log.model_ready_s.append(time.monotonic() - answered_at)
            except TimeoutError:
                log.model_wait_timeouts += 1  # the round still plays, without the model's guess counted
            await asyncio.sleep(max(0.0, think_until - time.monotonic()))
            copies = 2 if rng.random() < config.duplicate_fraction else 1
            if await guess_post(
                client, ledger, round_id=view["round"], sent=random_point(rng), copies=copies, phase="play"
            ):
                log.rounds_guessed += 1
                guessed.append(number)
        summary = await client.call(ledger, "summary", "GET", f"/api/games/{game_id}", 200)
        if summary is not None and not json.loads(summary)["finished"]:
            ledger.errors["summary: game not finished after every round was guessed"] += 1
        # A page stays open on the last reveal for a moment: give the final round_complete time to arrive.
        try:
            await asyncio.wait_for(arrivals.of("round_complete", config.rounds).wait(), timeout=5.0)
        except TimeoutError:
            pass
        log.events_missing = arrivals.missing(guessed)
        log.finished = True
    finally:
        if ws is not None:
            if reader is not None and reader.done() and not reader.cancelled():
                # The socket ended before the player closed it: events after that were never seen.
                ledger.errors[f"websocket closed by the server mid-game (code {ws.close_code})"] += 1
            progress.disconnect(time.monotonic())
            await ws.close()
        if reader is not None:
            reader.cancel()
        await client.close()
        progress.finished += 1


async def loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late this event loop wakes up: if the client itself is saturated, its latencies are inflated."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.1)
        samples.append(1000 * (time.perf_counter() - started - 0.1))


async def progress_print(progress: Progress, ledger: Ledger, stop: asyncio.Event, began: float) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=5.0)
        except TimeoutError:
            pass
        guesses = ledger.latencies_ms.get("guess", [])
        recent = sorted(guesses[-500:])
        p95 = f"{recent[int(0.95 * (len(recent) - 1))]:.0f} ms" if recent else "-"
        say(
            f"{time.monotonic() - began:5.0f} s: {progress.started} started, {progress.connected} connected, "
            f"{progress.finished} done; {len(ledger.acknowledged)} guesses stored; guess p95 (last 500) {p95}; "
            f"{sum(ledger.errors.values())} errors"
        )


async def players_run(
    *, base_url: str, players: int, ramp_s: float, duration_s: float, config: PlayConfig, ledger: Ledger, seed: int
) -> dict[str, Any]:
    progress = Progress(players=players)
    logs = [PlayerLog() for _ in range(players)]
    lag: list[float] = []
    stop = asyncio.Event()
    began = time.monotonic()
    helpers = [
        asyncio.create_task(loop_lag(lag, stop)),
        asyncio.create_task(progress_print(progress, ledger, stop, began)),
    ]
    tasks = [
        asyncio.create_task(
            player_play(
                index=i,
                base_url=base_url,
                delay_s=ramp_s * i / players,
                config=config,
                ledger=ledger,
                log=logs[i],
                progress=progress,
                rng=random.Random(seed * 1_000_003 + i),
            )
        )
        for i in range(players)
    ]
    _, pending = await asyncio.wait(tasks, timeout=duration_s)
    for task in pending:  # the cap: whatever is still playing stops here
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.monotonic() - began
    if progress.full_since is not None:
        progress.full_seconds += time.monotonic() - progress.full_since
    stop.set()
    await asyncio.gather(*helpers)
    crashes = Counter(
        f"player crashed: {type(r).__name__}: {r}"
        for r in results
        if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
    )
    ledger.errors.update(crashes)
    events: Counter[str] = Counter()
    for log in logs:
        events.update(log.events)
    return {
        "players": players,
        "started": progress.started,
        "peak_connected": progress.peak_connected,
        "all_connected_s": round(progress.full_seconds, 1),
        "finished": sum(log.finished for log in logs),
        "cut_by_cap": len(pending),
        "seconds": elapsed,
        "rounds_guessed": sum(log.rounds_guessed for log in logs),
        "model_ready_in_time": sum(log.model_ready_in_time for log in logs),
        "model_wait_timeouts": sum(log.model_wait_timeouts for log in logs),
        "model_ready_s": percentiles([s for log in logs for s in log.model_ready_s]),
        "location_frames": sum(log.location_frames for log in logs),
        "events": dict(events),
        "events_missing": sum(log.events_missing for log in logs),
        "events_expected": len(ROUND_EVENTS) * sum(log.rounds_guessed for log in logs if log.finished),
        "client_loop_lag_ms": percentiles(lag),
    }
