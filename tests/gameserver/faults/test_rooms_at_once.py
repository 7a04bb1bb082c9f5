"""A full room of 16 acting at once: every seat joins, starts the round and guesses in the same instant, on
real servers. On the embedded default (SQLite in a file, `make play`) concurrent writers once answered 500
"database is locked"; on PostgreSQL the row locks order them. Either way: no answer but 2xx, nothing lost."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from operator import methodcaller
from typing import TypeVar

import pytest

from gameserver.games.services import MAX_PLAYERS
from gameserver.panoramas.services import panorama_set_import

ROUNDS = 2
Item = TypeVar("Item")
Answer = TypeVar("Answer")


def at_once(items: list[Item], action: Callable[[Item], Answer]) -> list[Answer]:
    """action(item) for every item in its own thread, all released together; the answers in order."""
    gate = threading.Barrier(len(items))
    answers: dict[int, Answer] = {}

    def act(index: int) -> None:
        gate.wait()
        answers[index] = action(items[index])

    threads = [threading.Thread(target=act, args=(index,)) for index in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == len(items), "an action raised or hung: see the output above"
    return [answers[index] for index in range(len(items))]


def play_a_full_room_at_once(base: str, set_name: str, http_player: type) -> list[str]:
    """Sessions, joins, round starts and guesses of MAX_PLAYERS seats, each step all at once; every answer
    that is not 2xx, described."""
    failures: list[str] = []

    def check(step: str, answers: list[tuple[int, dict[str, object]]]) -> None:
        failures.extend(f"{step}: {status} {body}" for status, body in answers if not 200 <= status < 300)

    # Every browser's first request (GET /api/session) writes its session at the same moment.
    players = at_once(list(range(MAX_PLAYERS)), lambda _: http_player(base))
    failures.extend(
        f"session: player {index} got no session"
        for index, player in enumerate(players)
        if not {"sessionid", "csrftoken"} <= {cookie.name for cookie in player.cookies}
    )
    status, game = players[0].call("POST", "/api/games", {"set": set_name, "rounds": ROUNDS})
    check("create", [(status, game)])
    game_id = game["game"]
    check("join", at_once(players[1:], lambda p: p.call("POST", f"/api/games/{game_id}/join", {})))
    for number in range(1, ROUNDS + 1):
        start = f"/api/games/{game_id}/rounds/{number}/start"
        # The host starts the round (a room moves with its host); then every seat opens it at once.
        check(f"round {number} host start", [players[0].call("POST", start, {})])
        started = at_once(players, methodcaller("call", "POST", start, {}))
        check(f"round {number} start", started)
        rounds = {body["round"] for status, body in started if status == 200}
        assert len(rounds) == 1, f"one round served to all, not {rounds}: {failures}"
        url = f"/api/rounds/{rounds.pop()}/guess"
        check(
            f"round {number} guess",
            at_once(players, methodcaller("call", "POST", url, {"latitude": 10.0, "longitude": 20.0})),
        )
    status, summary = players[0].call("GET", f"/api/games/{game_id}")
    check("summary", [(status, summary)])
    if not failures:  # the rooms as the players left it: every seat taken, every guess stored
        assert len(summary["players"]) == MAX_PLAYERS
        assert [r["guessed"] for r in summary["rounds"]] == [MAX_PLAYERS] * ROUNDS
    return failures


@pytest.mark.embedded
@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="the embedded pass runs it; the PostgreSQL pass plays the same room on PostgreSQL",
)
def test_a_room_of_16_acting_at_once_on_the_embedded_sqlite_gets_no_error(embedded_arena, http_player):
    assert play_a_full_room_at_once(embedded_arena, "osv5m-demo", http_player) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="needs PostgreSQL and Redis; make test runs it in its DATABASE_URL/REDIS_URL pass",
)
def test_a_room_of_16_acting_at_once_on_postgresql_gets_no_error(synthetic_test, spawn, http_player):
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    _, base = spawn.web("web", env={"PLANET_RATE_LIMIT_GAMES": "1000/60"})
    assert play_a_full_room_at_once(base, "synthetic", http_player) == []
