"""One browser of bench/load: its cookie jar (session + CSRF), keep-alive connections and requests, timed and
counted in the ledger; players and the throughput clients alike."""

from __future__ import annotations

import asyncio
import math
import random
import time

import aiohttp

from bench.load.records import Ledger

MAX_ROUNDS_PER_GAME = 50  # gameserver.games.services.MAX_ROUNDS


class Client:
    """One browser: its cookie jar (session + CSRF), keep-alive connections and, for players, a websocket."""

    def __init__(self, base_url: str, *, timeout_s: float, source: str) -> None:
        self.base_url = base_url
        # Each browser connects from its own loopback address (all of 127.0.0.0/8 is this machine), so the
        # server's per-address limit on new games sees N people, not one address opening N games.
        # unsafe: aiohttp keeps no cookies for IP-address hosts otherwise, and the benchmark uses 127.0.0.1.
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(source, 0)),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        )
        self.csrf = ""
        self.player_key = ""

    async def begin(self, ledger: Ledger) -> bool:
        """GET /api/session: the guest session and the CSRF cookie every POST needs."""
        status, _, ms = await self.request("GET", "/api/session")
        ledger.latency("session", ms)
        cookies = {cookie.key: cookie.value for cookie in self.http.cookie_jar}
        if status != 200 or "csrftoken" not in cookies or "sessionid" not in cookies:
            ledger.errors[f"session: HTTP {status}, cookies {sorted(cookies)}"] += 1
            return False
        self.csrf = cookies["csrftoken"]
        self.player_key = f"guest:{cookies['sessionid']}"  # the server's player key for a guest (games/views.py)
        return True

    async def request(self, method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, bytes, float]:
        """(status, body, milliseconds until the whole body arrived)."""
        headers = {"X-CSRFToken": self.csrf} if method == "POST" else None
        started = time.perf_counter()
        async with self.http.request(method, self.base_url + path, json=body, headers=headers) as response:
            payload = await response.read()
        return response.status, payload, 1000 * (time.perf_counter() - started)

    async def call(
        self, ledger: Ledger, endpoint: str, method: str, path: str, expect: int, body: dict[str, object] | None = None
    ) -> bytes | None:
        """A request that must answer `expect`; anything else is counted under the endpoint and gives None."""
        try:
            status, payload, ms = await self.request(method, path, body)
        except (TimeoutError, aiohttp.ClientError) as error:
            ledger.errors[f"{endpoint}: {type(error).__name__}"] += 1
            return None
        ledger.latency(endpoint, ms)
        if status != expect:
            ledger.errors[f"{endpoint}: HTTP {status}"] += 1
            return None
        return payload

    async def close(self) -> None:
        await self.http.close()


async def guess_post(
    client: Client, ledger: Ledger, *, round_id: str, sent: tuple[float, float], copies: int, phase: str
) -> bool:
    """Post a guess `copies` times at once; a copy lost in transit is retried once, as a browser would. True when
    the server answered it (201 or 200)."""
    path = f"/api/rounds/{round_id}/guess"
    body: dict[str, object] = {"latitude": sent[0], "longitude": sent[1]}
    answered = False
    for attempt in range(2):
        results = await asyncio.gather(
            *(client.request("POST", path, body) for _ in range(copies)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                if not isinstance(result, (aiohttp.ClientError, TimeoutError)):
                    raise result
                ledger.errors[f"guess: {type(result).__name__}{' (retried)' if attempt == 0 else ''}"] += 1
                continue
            status, payload, ms = result
            ledger.latency("guess", ms)
            ledger.guess_answer(
                round_id=round_id, player_key=client.player_key, sent=sent, status=status, body=payload, phase=phase
            )
            answered = answered or status in (200, 201)
        if answered:
            return True
        copies = 1
    return False


def loopback_address(block: int, index: int) -> str:
    """A distinct source address on this machine for client `index` of block 0 (players) or 1 (throughput)."""
    return f"127.{block + 10}.{index // 250}.{1 + index % 250}"


def random_point(rng: random.Random) -> tuple[float, float]:
    """A point uniform on the sphere, rounded as a map click would be: 6 decimals (~0.1 m)."""
    return round(math.degrees(math.asin(rng.uniform(-1.0, 1.0))), 6), round(rng.uniform(-180.0, 180.0), 6)
