"""This machine as the benchmarks and the process-driving tests see it: a free loopback port for a server they
start, and how noisy the machine is (CPU time it spent busy or had stolen by the hypervisor, its load, other
people's test runs on the same cores)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def machine_cpu_seconds() -> tuple[float, float] | None:
    """(busy, stolen) CPU seconds of the whole machine since boot, from /proc/stat; None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields)
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq) / ticks, steal / ticks


def load_average() -> float | None:
    """The one-minute load average, or None where the system has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def other_pytest_running() -> bool:
    """Other engineers' test runs on the same cores make the numbers noisy; the benchmarks say so."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if b"pytest" in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False
