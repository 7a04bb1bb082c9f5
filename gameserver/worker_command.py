"""The inference worker's command line as deployed (docs/operating.md): `celery -A gameserver worker -Q inference`,
one solo process taking one task at a time. The processes that start real workers (the load benchmark, the fault
and worker-process tests) build it here, so they run what production runs."""

from __future__ import annotations

import sys


def inference_worker_command(*, pool: str = "solo", name: str | None = None) -> list[str]:
    """argv of one inference worker under this interpreter; `name` sets its node name (several on one host)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "gameserver",
        "worker",
        "-Q",
        "inference",
        "-P",
        pool,
        *(["-c", "1", "-n", f"{name}@%h"] if name else []),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "INFO",
    ]
