"""A free loopback port for a server a test starts (the tests keep their own copy of this helper so that they
import nothing from bench/, whose numbers they must not depend on)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
