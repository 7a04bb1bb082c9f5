"""An in-process Celery worker for the embedded mode: a real worker (own thread, acks, retries) consuming
the in-memory broker, so `make play` needs no Redis and the web request never waits for the model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker

from gameserver.celery import app


@contextmanager
def embedded_worker(*, queues: tuple[str, ...] = ("inference", "imports", "celery")) -> Iterator[None]:
    app.conf.task_always_eager = False
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=list(queues),
        loglevel="WARNING",
        shutdown_timeout=10.0,
    ):
        yield
