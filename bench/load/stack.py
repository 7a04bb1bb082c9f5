"""The production stack bench/load plays against, built in a temporary folder and torn down afterwards.

A throwaway PostgreSQL database (planet_load_<pid>), one Redis database (flushed before and after), migrations,
a synthetic panorama set, a tiny checkpoint (or the one given), then the ASGI web server (Daphne, as in the
README's production section, or uvicorn) and a `celery -A gameserver worker -Q inference` as subprocesses with
the production environment (DATABASE_URL, REDIS_URL, DJANGO_DEBUG off) for the game's own settings module.
Every subprocess runs in its own process group and is stopped on the way out, also after an error or Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import redis

from bench.machine import free_port
from gameserver.worker_command import inference_worker_command
from planet_engine.synthetic import REGIONS, write_synthetic_set

ROOT = Path(__file__).resolve().parents[2]
SET_NAME = "load-synthetic"
MODEL_NAME = "load-tiny"
# Databases and Redis numbers the test suites use (.ci/run, tests/): never touched here.
RESERVED_DATABASES = {"test", "test_test", "postgres", "root", "template0", "template1"}
RESERVED_REDIS_DBS = {0, 1, 2, 3}
# Variables of the caller's environment that would point the stack at someone else's services or change the
# settings under test behind the benchmark's back.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "DJANGO_SETTINGS_MODULE",
    "PLANET_VAR_DIR",
    "PLANET_CHECKPOINT",
    "PLANET_PRODUCTION",
    "DATABASE_CONN_MAX_AGE",
    "PLANET_DB_POOL",
    "PLANET_CHANNEL_CAPACITY",
    "PLANET_SERVING_STOCK",
)
# The game's ASGI application with the benchmark's baseline route and error logging (bench/load/asgi.py).
WEB_APPLICATION = "bench.load.asgi:application"
STARTUP_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class StackConfig:
    postgres_url: str  # a server to create the throwaway database on, e.g. postgresql://postgres@host:5432/
    redis_url: str  # redis://127.0.0.1:6379/5: flushed before and after
    server: str  # daphne | uvicorn
    web_processes: int  # uvicorn --workers; Daphne is always one process
    panoramas: int  # size of the synthetic set (a game of R rounds needs R panoramas)
    image_size: tuple[int, int]  # served photo size: the worker decodes and resizes what players get
    checkpoint: Path | None  # None: train a tiny Lite0 probe at 64 px as tests/conftest.py does
    conn_max_age: int | None  # DATABASE_CONN_MAX_AGE for the web server and worker; None or < 0: the settings'
    worker_threads: int = 1  # torch threads of the inference worker (OMP_NUM_THREADS)
    db_pool: int = 0  # > 0: PLANET_DB_POOL, the web server's psycopg pool of at most this many connections
    layer_capacity: int = 0  # > 0: PLANET_CHANNEL_CAPACITY instead of the settings' default
    serving_stock: int = 0  # PLANET_SERVING_STOCK: encodings stocked ahead per image (games/serving_stock.py)
    keep: bool = False  # keep the temporary folder and the database for inspection


@dataclass
class Stack:
    config: StackConfig
    folder: Path
    database_url: str
    base_url: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    checkpoint: Path | None = None

    def environment(self) -> dict[str, str]:
        """The production environment for gameserver.settings, with the experiments asked for."""
        env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.config.redis_url,
            DJANGO_DEBUG="0",
            PLANET_PRODUCTION="0",
            PLANET_VAR_DIR=str(self.folder / "var"),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        )
        # The throughput clients start their rounds back to back and post hundreds of guesses a minute each, far
        # past a person's allowance; the limits are still checked (and counted in Redis) on every request, they
        # just never refuse one here.
        for limit in ("GUESSES", "ROUND_STARTS", "PREDICTIONS", "GAME_PREDICTIONS"):
            env[f"PLANET_RATE_LIMIT_{limit}"] = "1000000/60"
        if self.config.conn_max_age is not None and self.config.conn_max_age >= 0:
            env["DATABASE_CONN_MAX_AGE"] = str(self.config.conn_max_age)
        if self.config.layer_capacity > 0:
            env["PLANET_CHANNEL_CAPACITY"] = str(self.config.layer_capacity)
        env["PLANET_SERVING_STOCK"] = str(self.config.serving_stock)
        return env

    def checkpoint_copy(self) -> Path:
        """The registered copy of the checkpoint, its ONNX graph beside it (PLANET_MODELS_DIR's default)."""
        return self.folder / "var" / "models" / "model.pt"

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if path is None or not path.is_file():
            return "(no output)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def process_groups(self) -> dict[str, int]:
        """Process-group id of each subprocess (uvicorn's worker processes share their parent's group)."""
        return {name: process.pid for name, process in self.processes.items() if process.poll() is None}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def redis_db_number(url: str) -> int:
    path = urlparse(url).path.lstrip("/")
    return int(path) if path else 0


def database_create(admin_url: str, name: str) -> None:
    if name in RESERVED_DATABASES or not re.fullmatch(r"planet_load_\w+", name):
        raise SystemExit(f"refusing to use database {name!r}: the benchmark only creates planet_load_* databases")
    with psycopg.connect(with_database(admin_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(admin_url: str, name: str) -> None:
    with psycopg.connect(with_database(admin_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_flush(url: str) -> None:
    if redis_db_number(url) in RESERVED_REDIS_DBS:
        raise SystemExit(f"refusing Redis database {redis_db_number(url)}: 0-3 belong to the test suites")
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def manage(stack: Stack, *arguments: str) -> str:
    """One management command to completion against the stack's database; its output, or exit on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=stack.environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(arguments)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def engine(*arguments: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "planet_engine", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise SystemExit(f"planet_engine {arguments[0]} exited {result.returncode}:\n{result.stdout}{result.stderr}")


def synthetic_sets(folder: Path, *, panoramas: int, image_size: tuple[int, int]) -> tuple[Path, Path]:
    """(training manifest, game manifest): planet_engine.synthetic's learnable four-region images, which the
    tests train on too, so the tiny model is the same kind of opponent they play; the game set at a photo-like
    size."""
    per_region = -(-panoramas // len(REGIONS))
    training = write_synthetic_set(folder / "train", per_region=12, seed=1)
    game = write_synthetic_set(folder / "game", per_region=per_region, seed=2, size=image_size)
    return training, game


def tiny_checkpoint_train(folder: Path, training_manifest: Path) -> Path:
    """tests/conftest.py's tiny_checkpoint through the engine's CLI: Lite0 linear probe at 64 px (~30 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    engine(
        "partition", "--manifest", str(training_manifest), "--t1", "10", "--t2", "2", "--out", str(folder / "cells.csv")
    )
    engine(
        "train",
        "--manifest",
        str(training_manifest),
        "--cells",
        str(folder / "cells.csv"),
        "--out",
        str(folder / "model.pt"),
        "--image-size",
        "64",
        "--epochs",
        "15",
        "--lr",
        "1e-2",
        "--weight-decay",
        "1e-4",
        "--cache-dir",
        "",
    )
    return folder / "model.pt"


def spawn(
    stack: Stack, name: str, command: list[str], *, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = stack.folder / f"{name}.log"
    stack.logs[name] = log
    with log.open("wb") as output:
        # Own session: Ctrl-C in the terminal reaches only this script, which then stops the whole group.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**stack.environment(), **(extra or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.processes[name] = process
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (uvicorn's workers, the worker's pool), SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def wait_until(check: Callable[[], bool], *, what: str, stack: Stack, name: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    process = stack.processes[name]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited {process.returncode} before {what}:\n{stack.log_tail(name)}")
        if check():
            return
        time.sleep(0.25)
    raise SystemExit(f"{name}: no {what} within {STARTUP_TIMEOUT_S:.0f} s:\n{stack.log_tail(name)}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def server_start(stack: Stack) -> None:
    port = free_port()
    stack.base_url = f"http://127.0.0.1:{port}"
    if stack.config.server == "daphne":
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), WEB_APPLICATION]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            WEB_APPLICATION,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(stack.config.web_processes),
            "--no-access-log",
            "--lifespan",
            "off",
            "--backlog",
            "4096",
        ]
    # The pool only in the web server: a Celery worker given it hung on its third task (tried here). Django
    # refuses a pool with persistent connections.
    pool = (
        {"PLANET_DB_POOL": str(stack.config.db_pool), "DATABASE_CONN_MAX_AGE": "0"} if stack.config.db_pool > 0 else {}
    )
    spawn(stack, "web", command, extra=pool)
    wait_until(lambda: http_ok(f"{stack.base_url}/bench/bare"), what="serving", stack=stack, name="web")


def worker_start(stack: Stack) -> None:
    # As the README's production section runs it: one solo worker on the inference queue. Its torch threads
    # are capped: on a CPU shared with the web server, two OpenMP threads that keep being preempted made a
    # batch of 16 three to five times slower than one thread did (0.4-0.6 s vs 0.12 s, measured here).
    spawn(
        stack,
        "worker",
        inference_worker_command(),
        extra={
            "OMP_NUM_THREADS": str(stack.config.worker_threads),
            # ONNX Runtime ignores OMP_NUM_THREADS: its own setting
            "PLANET_INFERENCE_THREADS": str(stack.config.worker_threads),
        },
    )
    wait_until(lambda: " ready." in stack.log_tail("worker", 200), what="ready", stack=stack, name="worker")


@contextmanager
def production_stack(config: StackConfig) -> Iterator[Stack]:
    """Everything set up and running; torn down (processes, database, Redis db, folder) however the body ends."""
    folder = Path(tempfile.mkdtemp(prefix="planet-load-"))
    name = f"planet_load_{os.getpid()}"
    stack = Stack(config=config, folder=folder, database_url=with_database(config.postgres_url, name))
    started = time.monotonic()
    try:
        redis_flush(config.redis_url)
        database_create(config.postgres_url, name)
        say(f"database {name}, Redis {config.redis_url}, folder {folder}")
        manage(stack, "migrate", "--no-input", "-v", "0")
        training, game = synthetic_sets(folder / "source", panoramas=config.panoramas, image_size=config.image_size)
        manage(
            stack,
            "import_panoramas",
            "--manifest",
            str(game),
            "--name",
            SET_NAME,
            "--licence",
            "CC0-1.0",
            "--attribution",
            "synthetic benchmark images",
            "-v",
            "0",
        )
        if config.checkpoint is None:
            say("training the tiny checkpoint (Lite0 linear probe, 64 px)")
            stack.checkpoint = tiny_checkpoint_train(folder / "model", training)
        else:
            stack.checkpoint = config.checkpoint.resolve()
        stack.checkpoint_copy().parent.mkdir(parents=True, exist_ok=True)  # register_model reads only there
        shutil.copy(stack.checkpoint, stack.checkpoint_copy())
        say(manage(stack, "register_model", "--name", MODEL_NAME, "--checkpoint", "model.pt", "--default"))
        worker_start(stack)
        server_start(stack)
        say(
            f"{config.server} on {stack.base_url} and the inference worker up "
            f"({time.monotonic() - started:.0f} s of setup)"
        )
        yield stack
    finally:
        for process in stack.processes.values():
            stop(process)
        if config.keep:
            say(f"kept {folder} and database {name}")
        else:
            database_drop(config.postgres_url, name)
            redis_flush(config.redis_url)
            shutil.rmtree(folder, ignore_errors=True)
