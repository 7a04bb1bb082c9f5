"""What bench/load's clients were told, and how their timings are summarised: the ledger of every answer that
the database check compares with, and latency percentiles."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Ledger:
    """Every guess answer the clients got, across both phases: what the database check compares with."""

    acknowledged: dict[tuple[str, str], tuple[float, float, str]] = field(default_factory=dict)  # 201s
    created_twice: int = 0  # a second 201 for the same (round, player): a duplicated guess
    repeats: int = 0  # 200 answers to repeated submissions
    repeat_mismatches: int = 0  # a 200 or 201 whose reveal is not the guess first sent
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)

    def latency(self, endpoint: str, ms: float) -> None:
        self.latencies_ms.setdefault(endpoint, []).append(ms)

    def guess_answer(
        self, *, round_id: str, player_key: str, sent: tuple[float, float], status: int, body: bytes, phase: str
    ) -> None:
        if status not in (200, 201):
            self.errors[f"guess: HTTP {status}"] += 1
            return
        human = json.loads(body).get("human", {})
        if (human.get("latitude"), human.get("longitude")) != sent:
            self.repeat_mismatches += 1
        key = (round_id, player_key)
        if status == 200:
            self.repeats += 1
        elif key in self.acknowledged:
            self.created_twice += 1
        else:
            self.acknowledged[key] = (*sent, phase)


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)], 2)

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }
