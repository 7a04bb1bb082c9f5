"""CPU per request of the HTTP stack alone, in process, with no server or network: the bare view
(bench/load/asgi.py) and an unknown /api/ path (a JSON 404: the whole middleware chain, the error rewrite
included) through Django's stock ASGI handler and through the game's OneThreadHandler, interleaved in one run.

    .venv/bin/python -m bench.load.request_cost [--requests N] [--rounds R]

CPU time (the process's, all threads) is what a busy shared machine distorts least; the report gives the median
over rounds of CPU-ms per request.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from django.core.handlers.asgi import ASGIHandler

from bench.load.asgi import BenchHandler, BenchRequest

PATHS = ("/bench/bare", "/api/no-such-endpoint")


class StockBenchHandler(ASGIHandler):
    """Django's own handler (middleware built async under ASGI), with the benchmark's bare route."""

    request_class = BenchRequest


async def one_request(application: Any, path: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []
    body_given = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not body_given.is_set():
            body_given.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the disconnect listener waits here until the handler cancels it
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    return int(sent[0]["status"])


async def cost_ms(application: Any, path: str, requests: int) -> float:
    began = time.process_time()
    for _ in range(requests):
        await one_request(application, path)
    return 1000 * (time.process_time() - began) / requests


async def measure(requests: int, rounds: int) -> dict[str, dict[str, float]]:
    handlers = {"stock ASGIHandler": StockBenchHandler(), "OneThreadHandler": BenchHandler()}
    for handler in handlers.values():  # warm-up, and the statuses checked once
        assert await one_request(handler, PATHS[0]) == 200 and await one_request(handler, PATHS[1]) == 404
    samples: dict[tuple[str, str], list[float]] = {(name, path): [] for name in handlers for path in PATHS}
    for _ in range(rounds):  # interleaved: load from elsewhere hits both handlers alike
        for name, handler in handlers.items():
            for path in PATHS:
                samples[(name, path)].append(await cost_ms(handler, path, requests))
    return {name: {path: round(statistics.median(samples[(name, path)]), 3) for path in PATHS} for name in handlers}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load.request_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(measure(args.requests, args.rounds))
    print(f"CPU-ms per request (median of {args.rounds} rounds of {args.requests})")
    print(f"{'handler':<20}" + "".join(f"{path:>24}" for path in PATHS))
    for name, costs in results.items():
        print(f"{name:<20}" + "".join(f"{costs[path]:>24.3f}" for path in PATHS))


if __name__ == "__main__":
    main()
