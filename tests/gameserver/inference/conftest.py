"""Waiting for a worker's answer, shared by the in-process and the separate-process worker tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gameserver.games.models import Round


@pytest.fixture
def wait_for_model() -> Callable[..., Round]:
    def wait(*, seconds: float = 90.0, log: Path | None = None, **lookup: object) -> Round:
        """The round (Round.objects.get(**lookup)) once the model has answered it, ready or unavailable."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            game_round = Round.objects.get(**lookup)
            if game_round.model_status != Round.ModelStatus.PENDING:
                return game_round
            time.sleep(0.05)
        tail = f"; the worker's log:\n{log.read_text()[-3000:]}" if log else ""
        raise AssertionError(f"the worker did not answer within {seconds} s{tail}")

    return wait
