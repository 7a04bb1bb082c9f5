"""The fault tests' own server processes: each in its own session (so a kill takes its children too) with its
output in a log, started with the test's database and storage and stopped at teardown; and eventually(), which
polls until a process has done what it should."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gameserver.worker_command import inference_worker_command
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


def eventually(
    check: Callable[[], object], *, seconds: float = 30.0, what: str = "", log: Path | None = None
) -> object:
    """check()'s first truthy answer, polled until `seconds` pass; else fail, with a process's log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.05)
    tail = f"; its log:\n{log.read_text(errors='replace')[-3000:]}" if log else ""
    raise AssertionError(f"not within {seconds} s: {what or check}{tail}")


@dataclass
class ServiceProcess:
    """A server process in its own session (so a kill takes its children too), its output in `log`."""

    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, text: str, *, seconds: float = 30.0) -> None:
        eventually(lambda: text in self.log_text(), seconds=seconds, what=f"{text!r} in {self.log.name}", log=self.log)

    def wait_answering(self, base: str, *, seconds: float) -> None:
        """Until the server at `base` answers HTTP; fails with its log if it does not within `seconds`."""

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/api/schema", timeout=2):
                    return True
            except (urllib.error.URLError, ConnectionError):
                return False

        eventually(answers, seconds=seconds, what=f"{self.log.stem} answering", log=self.log)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost node would: no shutdown handler runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        """SIGTERM: the process shuts down as it would on a deploy."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, *, seconds: float = 20.0) -> None:
        """Shut down, or be killed after `seconds`."""
        self.terminate()
        self.wait_or_kill(seconds=seconds)

    def wait_or_kill(self, *, seconds: float) -> None:
        """Wait for the process to end (asked to already), killing it after `seconds`."""
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Spawner:
    """Starts processes with the test's database and storage; stops whatever is still running at teardown."""

    folder: Path
    env: dict[str, str]
    started: list[ServiceProcess] = field(default_factory=list)

    def __call__(self, name: str, argv: list[str], *, env: dict[str, str] | None = None) -> ServiceProcess:
        log = self.folder / f"{name}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = ServiceProcess(process, log)
        self.started.append(started)
        return started

    def worker(self, name: str, *, pool: str = "solo", env: dict[str, str] | None = None) -> ServiceProcess:
        """`celery -A gameserver worker -Q inference` as deployed, ready to consume."""
        worker = self(
            name,
            inference_worker_command(pool=pool, name=name),
            env=env,
        )
        worker.wait_for_log(" ready.")
        return worker

    def web(self, name: str, *, env: dict[str, str] | None = None) -> tuple[ServiceProcess, str]:
        """The ASGI app under daphne, as deployed; returns it and its base URL once it answers."""
        port = free_port()
        web = self(
            name,
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "gameserver.asgi:application"],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        web.wait_answering(base, seconds=30.0)
        return web, base

    def stop_all(self) -> None:
        """Every process is asked to shut down at once, then killed if it has not within 3 s: a Celery worker's
        warm shutdown sits out its event loop's poll (about 10 s when idle), and a teardown that waited for each
        process in turn took up to 16 s a test. No test reads what a process does after its teardown."""
        for started in self.started:
            started.terminate()
        deadline = time.monotonic() + 3.0
        for started in reversed(self.started):
            started.wait_or_kill(seconds=max(0.1, deadline - time.monotonic()))
