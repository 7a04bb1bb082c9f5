"""Round start -> the model's guess committed, in the embedded game (`manage.py run_arena`: SQLite, the in-memory
broker, the in-process worker) with the demo checkpoint, beside the bare forward pass (ONNX Runtime and torch
eager, one image, the worker's thread count) measured in the same run.

Two views of the same wait: the server's own clock (model_ready_at - served_at, read from the database after the
run) and what a client sees: by default it waits on the game's websocket for `model_ready`, as the browser does
(`--wait poll` polls the round every 5 ms instead, which loads the one server process it measures). Goals: p50
<= 150 ms, and the pipeline's p50 at most 25% over the bare ONNX forward plus the image's preprocessing.

Run: .venv/bin/python -m bench.latency [--rounds 21] [--checkpoint var/demo/model.pt] [--json F]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect
from websockets.typing import Origin

from bench.machine import free_port, load_average

ROOT = Path(__file__).resolve().parent.parent
GOAL_P50_MS = 150.0
GOAL_OVERHEAD = 0.25
POLL_S = 0.005


class Client:
    """A browser's session: cookies, the CSRF token on writes, JSON in and out."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def call(self, path: str, body: object | None = None) -> Any:
        token = next((c.value or "" for c in self.cookies if c.name == "csrftoken"), "")
        request = urllib.request.Request(
            self.base + path,
            method="GET" if body is None else "POST",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": token, "Referer": self.base + "/"},
        )
        with self.opener.open(request, timeout=30) as response:
            return json.loads(response.read())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def bare_forward_ms(checkpoint: Path, image: Path, threads: int, repeats: int = 30) -> dict[str, float]:
    """Median ms of the forward pass alone (one image, preprocessed once) and of the preprocessing."""
    import torch

    from planet_engine.predict import Predictor

    torch.set_num_threads(threads)
    onnx = Predictor(checkpoint, device="cpu", backend="onnx", threads=threads)
    eager = Predictor(checkpoint, device="cpu", backend="torch")
    timings: dict[str, list[float]] = {"preprocess": [], "onnx": [], "torch": []}
    for _ in range(repeats):
        started = time.perf_counter()
        batch = onnx.preprocess([image])
        timings["preprocess"].append(time.perf_counter() - started)
        for name, predictor in (("onnx", onnx), ("torch", eager)):
            started = time.perf_counter()
            predictor.probabilities_from_tensor(batch)
            timings[name].append(time.perf_counter() - started)
    return {name: 1000 * statistics.median(values[3:]) for name, values in timings.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "var" / "demo" / "model.pt")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--wait",
        choices=("socket", "poll"),
        default="socket",
        help="how the client learns of the model's guess (default: the websocket, as the browser)",
    )
    args = parser.parse_args()
    if not args.checkpoint.is_file():
        sys.exit(f"no checkpoint at {args.checkpoint}: run `make demo-model` first")
    var = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    environment.update(PLANET_VAR_DIR=str(var), PLANET_CHECKPOINT=str(args.checkpoint.resolve()))
    # One client plays every round as fast as it can: the per-address and per-game limits would refuse it.
    environment.update(
        {
            f"PLANET_RATE_LIMIT_{scope}": "100000/60"
            for scope in ("GAMES", "GUESSES", "ROUND_STARTS", "PREDICTIONS", "GAME_PREDICTIONS")
        }
    )
    log = (var / "run_arena.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run_arena", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        client = Client(base)
        deadline = time.monotonic() + 600
        while True:
            try:
                client.call("/api/session")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"run_arena did not start; see {var / 'run_arena.log'}")
                time.sleep(0.5)
        threads = int(environment.get("PLANET_INFERENCE_THREADS", "1"))
        observed: list[float] = []
        rounds: list[str] = []
        left = args.rounds + 1  # the first round warms the worker up and is not counted
        while left > 0:
            count = min(left, 50)
            game = client.call("/api/games", {"set": "osv5m-demo", "rounds": count})["game"]
            with connect(f"ws://127.0.0.1:{port}/ws/games/{game}", origin=Origin(base), open_timeout=30) as socket:
                for number in range(1, count + 1):
                    started = time.perf_counter()
                    view = client.call(f"/api/games/{game}/rounds/{number}/start", {})
                    if args.wait == "poll":
                        while not client.call(f"/api/rounds/{view['round']}")["model_ready"]:
                            time.sleep(POLL_S)
                    else:
                        while not (
                            (event := json.loads(socket.recv(timeout=30))).get("event") == "model_ready"
                            and event.get("round") == number
                        ):
                            pass
                    observed.append(1000 * (time.perf_counter() - started))
                    rounds.append(view["round"])
                    client.call(f"/api/rounds/{view['round']}/guess", {"latitude": 0.5, "longitude": 0.5})
            left -= count
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    with sqlite3.connect(var / "arena.sqlite3") as database:
        placeholders = ",".join("?" * len(rounds))
        committed = {
            public_id: (ready - served)
            for public_id, served, ready in database.execute(
                "SELECT public_id, julianday(served_at) * 86400000, julianday(model_ready_at) * 86400000 "
                f"FROM games_round WHERE public_id IN ({placeholders})",
                rounds,
            )
        }
    server_ms = [committed[r] for r in rounds[1:]]
    client_ms = observed[1:]
    image = next((var / "panoramas").glob("*.jpg"))
    bare = bare_forward_ms(args.checkpoint, image, threads)
    p50 = statistics.median(server_ms)
    overhead = p50 / (bare["onnx"] + bare["preprocess"]) - 1
    result = {
        "rounds": len(server_ms),
        "threads": threads,
        "load_average": load_average(),
        "server_commit_ms": {"p50": p50, "p95": percentile(server_ms, 95)},
        "client_waits_by": args.wait,
        "client_observed_ms": {"p50": statistics.median(client_ms), "p95": percentile(client_ms, 95)},
        "bare_ms": bare,
        "overhead_over_bare_onnx_and_preprocess": overhead,
        "pass_p50": p50 <= GOAL_P50_MS,
        "pass_overhead": overhead <= GOAL_OVERHEAD,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
