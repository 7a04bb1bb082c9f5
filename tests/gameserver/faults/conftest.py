"""Fault injection: real worker, web-server and Redis processes on the test database, which the tests kill,
restart and cut off. Only the test's own processes and connections are touched, never the shared servers."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.gameserver.faults.processes import ServiceProcess, Spawner, eventually
from tests.ports import free_port


@pytest.fixture(name="eventually")
def eventually_fixture() -> Callable[..., object]:
    """eventually() (processes.py) as a fixture, as the tests ask for it."""
    return eventually


def database_url() -> str:
    """The test database (test_<name>) as a DATABASE_URL, for the processes the tests start."""
    params = connection.settings_dict
    user, password = params["USER"] or "", params["PASSWORD"] or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgresql://{auth}{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.fixture
def spawn(tmp_path: Path, model_version) -> Iterator[Spawner]:
    """Processes on the test database whose panorama storage is this test's (settings.PANORAMA_STORAGE_DIR)."""
    from gameserver.celery import app

    env = {**os.environ, "DATABASE_URL": database_url(), "PLANET_VAR_DIR": str(tmp_path), "DATABASE_CONN_MAX_AGE": "0"}
    spawner = Spawner(tmp_path, env)
    broker_clear(app.conf.broker_url)
    app.conf.task_always_eager = False  # the test's web side enqueues on the broker, as in production
    try:
        yield spawner
    finally:
        spawner.stop_all()


# What points a process at the shared services; the embedded game is started without them.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "DATABASE_CONN_MAX_AGE",
    "PLANET_DB_POOL",
)


@pytest.fixture
def embedded_arena(tmp_path: Path, synthetic_train: Path, synthetic_test: Path, tiny_checkpoint: Path) -> Iterator[str]:
    """`manage.py run_arena` as `make play` runs it: SQLite in a file, in-memory layer and broker, the in-process
    worker; the synthetic sets stand in for the demo sets (game set `osv5m-demo`). Its base URL."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "osv5m-demo").symlink_to(synthetic_test.parent)
    (data / "yfcc-train").symlink_to(synthetic_train.parent)
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.update(
        PLANET_VAR_DIR=str(tmp_path / "var"),
        PLANET_DATA_DIR=str(data),
        PLANET_CHECKPOINT=str(tiny_checkpoint),
        PLANET_RATE_LIMIT_GAMES="1000/60",
        PLANET_RATE_LIMIT_GUESSES="1000/60",
    )
    spawner = Spawner(tmp_path, env)
    port = free_port()
    try:
        arena = spawner("arena", [sys.executable, "manage.py", "run_arena", "--port", str(port)])
        arena.wait_answering(f"http://127.0.0.1:{port}", seconds=120.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        spawner.stop_all()


def broker_clear(url: str) -> None:
    """Drop what a crashed earlier run left on the broker: queued tasks, and on Redis unacked (in-flight) ones
    (RabbitMQ hands those back itself when their consumer's connection closes)."""
    from amqp.exceptions import NotFound
    from kombu.connection import Connection

    with Connection(url, connect_timeout=5) as broker:
        channel = broker.default_channel
        try:
            channel.queue_purge("inference")
        except NotFound:
            return  # RabbitMQ: no worker has declared the queue yet
        if url.startswith("redis"):
            channel.client.delete(channel.unacked_key, channel.unacked_index_key)


# RabbitMQ, the production broker (.ci/run starts it where rabbitmq-server is installed).
RABBITMQ_URL = os.environ.get("PLANET_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture
def rabbitmq() -> str:
    """RABBITMQ_URL with an empty inference queue; the test is skipped, saying why, where RabbitMQ is not running."""
    from kombu.connection import Connection
    from kombu.exceptions import OperationalError

    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as broker:
            broker.ensure_connection(max_retries=1)
    except (OSError, OperationalError) as error:
        pytest.skip(
            f"RabbitMQ is not reachable at {RABBITMQ_URL} ({error}); .ci/run starts it where "
            "rabbitmq-server is installed"
        )
    broker_clear(RABBITMQ_URL)
    return RABBITMQ_URL


@dataclass
class ObjectStore:
    """An S3-compatible server of the test's own (moto's server mode, on loopback) and its one bucket."""

    endpoint: str
    bucket: str = "arena"
    credentials: dict[str, str] = field(
        default_factory=lambda: {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )

    @property
    def env(self) -> dict[str, str]:
        """What points a process at the store (PLANET_STORAGE_URL and the credentials boto3 reads)."""
        return {
            "PLANET_STORAGE_URL": f"s3://{self.bucket}/arena?endpoint={self.endpoint}&region=us-east-1",
            **self.credentials,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket, Prefix=f"arena/{prefix}")
        return [item["Key"].removeprefix("arena/") for item in listed.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return bytes(self.client().get_object(Bucket=self.bucket, Key=f"arena/{key}")["Body"].read())


@pytest.fixture
def s3_store(spawn: Spawner) -> ObjectStore:
    """A fresh S3-compatible server with an empty bucket, stopped with the test's other processes."""
    port = free_port()
    server = spawn("s3", [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)])
    store = ObjectStore(endpoint=f"http://127.0.0.1:{port}")

    def answers() -> bool:
        try:
            with urllib.request.urlopen(store.endpoint, timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError):
            return False

    eventually(answers, seconds=60.0, what="the S3 server answering", log=server.log)
    store.client().create_bucket(Bucket=store.bucket)
    return store


class DatabaseFaults:
    """What a database restart or a stuck transaction does to the other sessions on the test database."""

    @contextmanager
    def row_held(self, table: str, pk: int) -> Iterator[None]:
        """Another transaction holds a row: whoever locks it next (select_for_update) waits."""
        holder = connection.get_new_connection(connection.get_connection_params())
        try:
            holder.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [pk])
            yield
        finally:
            holder.rollback()
            holder.close()

    def waiting_on_a_lock(self) -> int:
        return self._count(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )

    def terminate(self, *, waiting_on_a_lock_only: bool = False) -> int:
        """Cut other sessions off as a server restart does (the test's own is spared); how many were cut."""
        only = " AND wait_event_type = 'Lock'" if waiting_on_a_lock_only else ""
        return self._count(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = current_database() AND pid <> pg_backend_pid(){only}"
        )

    def _count(self, sql: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]


@pytest.fixture
def database_faults(db: None) -> DatabaseFaults:
    return DatabaseFaults()


@dataclass
class PrivateRedis:
    """A Redis server of the test's own, without persistence, so that a restart loses everything in it."""

    spawner: Spawner
    port: int = field(default_factory=free_port)
    server: ServiceProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.server = self.spawner(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
        )
        self.server.wait_for_log("Ready to accept connections")

    def crash(self) -> None:
        assert self.server is not None
        self.server.kill()


@pytest.fixture
def private_redis(spawn: Spawner) -> PrivateRedis:
    redis = PrivateRedis(spawn)
    redis.start()
    return redis


class HttpPlayer:
    """A browser's session against a real server: cookies, the CSRF header, JSON in and out."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.call("GET", "/api/session")

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, object]]:
        csrf = next((c.value or "" for c in self.cookies if c.name == "csrftoken"), "")
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            body_text = error.read()
            try:
                return error.code, json.loads(body_text or b"{}")
            except json.JSONDecodeError:  # Django's plain 500 page: no traceback, not JSON
                return error.code, {}


@pytest.fixture
def http_player() -> type[HttpPlayer]:
    return HttpPlayer
