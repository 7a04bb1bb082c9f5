"""The ratings name players by the latest seat name they chose (text from the rows; a default name or an account's
username is not published); hashed ids stay in `name` and in the exports, and a report recomputed from an export
names them alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.exports import export_read, export_write
from gameserver.stats.selectors import benchmark_from_rows, player_id, round_rows

pytestmark = pytest.mark.django_db(transaction=True)  # the model answers on commit


def play(client: Client, name: str | None) -> None:
    def post(url: str, body: dict) -> dict:
        return client.post(url, data=json.dumps(body), content_type="application/json").json()

    game = post("/api/games", {"set": "s", "rounds": 1, **({"name": name} if name else {})})["game"]
    round_id = post(f"/api/games/{game}/rounds/1/start", {})["round"]
    post(f"/api/rounds/{round_id}/guess", {"latitude": 1.0, "longitude": 2.0})


def test_players_are_named_by_seat_and_the_export_keeps_the_hash(synthetic_test: Path, model_version, tmp_path):
    panorama_set_import(manifest_path=synthetic_test, name="s")
    guest = Client()
    play(guest, "<b>Ada</b>")
    play(guest, "Ada Lovelace")  # the latest seat name names the player
    account = Client()
    user = User.objects.create_user("grace", password="correct horse battery 42")
    account.force_login(user)
    play(account, None)  # no name typed: the seat is named after the account

    play(Client(), None)  # a guest who typed no name: a default seat name, not published either

    ratings = Client().get("/api/stats/benchmark?tier=open").json()["ratings"]
    humans = {entry["name"]: entry["display_name"] for entry in ratings if entry["kind"] == "human"}
    # Only a name the player chose is shown: grace typed none (her seat took her username), nor did the guest.
    assert humans[player_id(f"user:{user.pk}")] == ""
    assert sorted(humans.values()) == ["", "", "Ada Lovelace"]
    assert "grace" not in json.dumps(ratings) and "guest-" not in json.dumps(ratings)
    assert all(len(name) == 16 for name in humans)
    assert [entry["display_name"] for entry in ratings if entry["kind"] == "model"] == ["tiny"]

    rows = round_rows()
    export_write(rows=rows, fmt="csv", out=tmp_path / "rounds.csv", filters={})
    text = (tmp_path / "rounds.csv").read_text()
    assert player_id(f"user:{user.pk}") in text and f"user:{user.pk}" not in text
    again = benchmark_from_rows(rows=export_read(path=tmp_path / "rounds.csv"), resamples=50)
    assert isinstance(again["ratings"], list)
    assert {e["name"]: e["display_name"] for e in again["ratings"] if e["kind"] == "human"} == humans


def test_a_pseudonym_cannot_be_recomputed_from_the_player_key_without_the_secret(settings):
    """sha256("user:<id>") was reversed by counting ids; the id is an HMAC under the deployment's secret."""
    import hashlib

    assert player_id("user:1") != hashlib.sha256(b"user:1").hexdigest()[:16]
    assert player_id("user:1") == player_id("user:1") != player_id("user:2")
    before = player_id("user:1")
    settings.SECRET_KEY = "another deployment's secret " * 2
    assert player_id("user:1") != before
