"""A guest's history follows them into an account: seats, guesses, created games and daily tries, exposures;
where the account already holds a seat of the game (or that day's try), the account's is kept and the guest's
stays under the guest key, so no game ever has two seats of one person."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from gameserver.accounts.services import guest_history_move
from gameserver.games.guessing import guess_submit
from gameserver.games.models import Exposure, Game, Guess, Player
from gameserver.games.rules import round_revealed
from gameserver.games.services import game_create, game_join, round_serve
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db
GUEST, ACCOUNT = "guest:abcdefgh", "user:7"


@pytest.fixture
def panorama_set(synthetic_test: Path, model_version) -> PanoramaSet:
    panorama_set_import(manifest_path=synthetic_test, name="s")
    return PanoramaSet.objects.get(name="s")


def play_round(game: Game, *, player_key: str, browser_key: str) -> Guess:
    game_round = round_serve(round=game.rounds.get(number=1), player_key=player_key)
    return guess_submit(
        round=game_round, player_key=player_key, latitude=10.0, longitude=20.0, browser_key=browser_key
    ).guess


def test_a_guests_seats_guesses_games_and_exposures_become_the_accounts(panorama_set):
    game = game_create(panorama_set=panorama_set, owner_key=GUEST, owner_name="Ada", owner_browser="b1", rounds=1)
    play_round(game, player_key=GUEST, browser_key="b1")
    assert Exposure.objects.filter(player_key=GUEST).count() == 1

    moved = guest_history_move(guest_key=GUEST, account_key=ACCOUNT)

    assert (moved.seats, moved.guesses, moved.exposures, moved.games_left) == (1, 1, 1, 0)
    game.refresh_from_db()
    assert game.owner_key == ACCOUNT
    assert list(Player.objects.values_list("player_key", "name", "browser_key")) == [(ACCOUNT, "Ada", "b1")]
    assert list(Guess.objects.values_list("player_key", flat=True)) == [ACCOUNT]
    assert list(Exposure.objects.values_list("player_key", flat=True)) == [ACCOUNT]


def test_a_game_where_the_account_already_has_a_seat_keeps_the_accounts_seat_and_leaves_the_guests(panorama_set):
    shared = game_create(
        panorama_set=panorama_set, owner_key=ACCOUNT, owner_name="Ada", owner_browser="phone", rounds=1
    )
    game_join(game=shared, player_key=GUEST, browser_key="laptop", name="Ada on the laptop")
    account_guess = play_round(shared, player_key=ACCOUNT, browser_key="phone")
    guest_guess = play_round(shared, player_key=GUEST, browser_key="laptop")
    own = game_create(panorama_set=panorama_set, owner_key=GUEST, owner_browser="laptop", rounds=1)

    moved = guest_history_move(guest_key=GUEST, account_key=ACCOUNT)

    assert (moved.seats, moved.guesses, moved.games_left) == (1, 0, 1)
    assert sorted(shared.players.values_list("player_key", flat=True)) == [GUEST, ACCOUNT]  # two seats, as played
    account_guess.refresh_from_db()
    guest_guess.refresh_from_db()
    assert (account_guess.player_key, guest_guess.player_key) == (ACCOUNT, GUEST)
    assert list(own.players.values_list("player_key", flat=True)) == [ACCOUNT]
    # Both seats locked, so both are shown the truth (recorded at each lock): all the person's, whichever seat counts.
    assert sorted(Exposure.objects.values_list("player_key", "browser_key")) == [
        (ACCOUNT, "laptop"),
        (ACCOUNT, "phone"),
    ]


def test_a_daily_try_the_account_already_has_stays_the_one_that_counts(panorama_set):
    day = date(2026, 12, 1)
    ids = list(panorama_set.panoramas.values_list("id", flat=True))[:1]
    mine = game_create(panorama_set=panorama_set, owner_key=ACCOUNT, rounds=1, panorama_ids=ids, daily=day)
    theirs = game_create(panorama_set=panorama_set, owner_key=GUEST, rounds=1, panorama_ids=ids, daily=day)
    other_day = game_create(
        panorama_set=panorama_set, owner_key=GUEST, rounds=1, panorama_ids=ids, daily=date(2026, 12, 2)
    )

    moved = guest_history_move(guest_key=GUEST, account_key=ACCOUNT)

    assert moved.games_left == 1
    assert {game.pk: game.owner_key for game in Game.objects.all()} == {
        mine.pk: ACCOUNT,
        theirs.pk: GUEST,
        other_day.pk: ACCOUNT,
    }


def test_an_exposure_the_account_already_has_is_not_duplicated(panorama_set):
    game = game_create(panorama_set=panorama_set, owner_key=GUEST, owner_browser="b1", rounds=1)
    play_round(game, player_key=GUEST, browser_key="b1")
    exposure = Exposure.objects.get()
    Exposure.objects.create(
        panorama_id=exposure.panorama_id, player_key=ACCOUNT, browser_key="b1", round_id=exposure.round_id
    )

    guest_history_move(guest_key=GUEST, account_key=ACCOUNT)

    assert list(Exposure.objects.values_list("player_key", "browser_key")) == [(ACCOUNT, "b1")]


def test_a_guest_with_no_history_moves_nothing(panorama_set):
    game_create(panorama_set=panorama_set, owner_key="guest:someone-else", rounds=1)
    moved = guest_history_move(guest_key=GUEST, account_key=ACCOUNT)
    assert (moved.seats, moved.guesses, moved.exposures, moved.games_left) == (0, 0, 0, 0)
    assert list(Player.objects.values_list("player_key", flat=True)) == ["guest:someone-else"]


def test_a_guest_seat_that_never_guessed_gives_way_to_the_accounts_so_the_room_plays_on(panorama_set):
    """Signing in mid-game to an account already seated in the room left the guest's seat, which nobody could
    use any more: the room waited on it until the round closed (24 hours without a time limit)."""
    room = game_create(panorama_set=panorama_set, owner_key=ACCOUNT, owner_name="Ada", owner_browser="phone", rounds=1)
    game_join(game=room, player_key=GUEST, browser_key="laptop", name="Ada on the laptop")
    game_join(game=room, player_key="guest:bob", browser_key="bob", name="Bob")
    play_round(room, player_key=ACCOUNT, browser_key="phone")

    moved = guest_history_move(guest_key=GUEST, account_key=ACCOUNT)

    assert (moved.seats, moved.games_left) == (0, 0)
    assert sorted(room.players.values_list("player_key", flat=True)) == ["guest:bob", ACCOUNT]
    bob = play_round(room, player_key="guest:bob", browser_key="bob")
    assert guess_reveal_ready(bob)  # both remaining seats locked: the reveal is out


def test_a_guest_host_who_signs_in_to_a_seated_account_keeps_running_the_room(panorama_set):
    """The guest host's seat gave way, but the room's host stayed the guest key: no round could ever start."""
    room = game_create(panorama_set=panorama_set, owner_key=GUEST, owner_name="Host", owner_browser="laptop", rounds=1)
    game_join(game=room, player_key=ACCOUNT, browser_key="phone", name="Ada")

    guest_history_move(guest_key=GUEST, account_key=ACCOUNT)

    room.refresh_from_db()
    assert room.owner_key == ACCOUNT and list(room.players.values_list("player_key", flat=True)) == [ACCOUNT]
    assert round_serve(round=room.rounds.get(number=1), player_key=ACCOUNT).served_at is not None


def guess_reveal_ready(guess: Guess) -> bool:
    game_round = guess.round
    return round_revealed(
        round=game_round, seats=game_round.game.players.count(), locked=game_round.guesses.count(), now=timezone.now()
    )
