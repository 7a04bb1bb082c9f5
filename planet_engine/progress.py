"""One status line on stderr for long jobs (torch-free: `prepare`'s worker processes import it)."""

from __future__ import annotations

import sys
import time


class Progress:
    """One status line on stderr for long jobs: count, rate and time left."""

    def __init__(self, label: str, total: int, *, enabled: bool = True) -> None:
        self.label, self.total, self.done = label, total, 0
        self.enabled = enabled and total > 0
        self.start = self.last = time.perf_counter()

    def update(self, count: int = 1, note: str = "") -> None:
        self.done += count
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.5 and self.done < self.total):
            return
        self.last = now
        rate = self.done / max(now - self.start, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        end = "\n" if self.done >= self.total else ""
        print(
            f"\r{self.label}: {self.done}/{self.total} {rate:.1f}/s, {left:.0f}s left {note}".rstrip(),
            end=end,
            file=sys.stderr,
            flush=True,
        )
