"""The guess path is lean: a fresh guess is at most six SQL statements (transaction control aside), whatever
the database, and the reveal comes from what the transaction already holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db(transaction=True)
MAX_STATEMENTS = 6
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)]


def post(client: Client, url: str, body: object):  # -> HttpResponse
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("seats", [1, 2])
def test_a_fresh_guess_costs_at_most_six_statements(synthetic_test: Path, model_version, seats: int) -> None:
    panorama_set_import(manifest_path=synthetic_test, name="s")
    players = [Client() for _ in range(seats)]
    game = post(players[0], "/api/games", {"set": "s", "rounds": 1}).json()["game"]
    for other in players[1:]:
        post(other, f"/api/games/{game}/join", {})
    view = post(players[0], f"/api/games/{game}/rounds/1/start", {}).json()
    for player in players[1:]:  # the others lock first; the last guess reveals the round
        post(player, f"/api/rounds/{view['round']}/guess", {"latitude": 3, "longitude": 4})
    with CaptureQueriesContext(connection) as queries:
        response = post(players[0], f"/api/rounds/{view['round']}/guess", {"latitude": 1, "longitude": 2})
    assert response.status_code == 201 and response.json()["revealed"]
    # A room's reveal adds the other seats' names and guesses: two reads, only when there are others.
    allowed = MAX_STATEMENTS + (2 if seats > 1 else 0)
    assert len(statements(queries)) <= allowed, "\n".join(statements(queries))
