"""Writes for accounts: a guest's history follows them into the account they sign up for or sign in to, and an
account's own rounds are deleted at its request."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from gameserver.games.models import Exposure, Game, Guess, Player


@dataclass(frozen=True)
class DataDeleted:
    guesses: int  # the account's guesses, gone from the database and every later export
    seats: int
    games: int  # games left with no seat at all, deleted with their rounds


def account_data_delete(*, account_key: str) -> DataDeleted:
    """Delete an account's rounds, in one transaction: its guesses and its seats (a seat with no guess would
    come back in the exports as a timeout), and every game left with no seat. A game others still sit in stays,
    run by the next seat; their rounds are theirs. Exposures (which panoramas the account was shown, no guess
    and no place) stay while their game does: they keep a panorama the account has seen out of its counted
    rounds."""
    with transaction.atomic():
        games = list(
            Game.objects.select_for_update(of=("self",))
            .filter(players__player_key=account_key)
            .values_list("pk", flat=True)
        )
        guesses, _ = Guess.objects.filter(player_key=account_key).delete()
        seats, _ = Player.objects.filter(player_key=account_key).delete()
        empty = Game.objects.filter(pk__in=games).exclude(players__isnull=False)
        emptied = empty.count()
        empty.delete()
        for game in Game.objects.filter(pk__in=games, owner_key=account_key):
            game.owner_key = game.players.order_by("joined_at", "pk").values_list("player_key", flat=True)[0]
            game.save(update_fields=["owner_key"])
    return DataDeleted(guesses=guesses, seats=seats, games=emptied)


@dataclass(frozen=True)
class HistoryMoved:
    seats: int  # seats (with their guesses, and the games the guest created) now the account's
    guesses: int
    exposures: int  # panoramas the account now counts as seen (duplicates of its own dropped)
    games_left: int  # games the guest's seat stays in, under the guest key (see guest_history_move)


def guest_history_move(*, guest_key: str, account_key: str) -> HistoryMoved:
    """Make a guest's seats, guesses, created games and daily tries, and exposures the account's, in one
    transaction (a failure moves nothing).

    One seat per person per game: where the account already holds a seat of a game the guest sat in (the same
    person on another device), or already has a daily try for a day the guest tried too, the account's stays
    the one that counts for it, and the guest's seat, guesses and try stay where they are, under the guest key
    nobody can sign in as any more. Merging two seats would give one player two guesses on a round, and deleting
    one would rewrite games that may already be in the benchmark. A guest seat that never guessed does give way
    (it is deleted; if the guest ran the room, the account now does): left, nobody could use it, and the room
    would wait on it until each round closed. Every exposure moves (the person has seen
    those panoramas either way); one the account already holds for the same panorama and browser is dropped."""
    with transaction.atomic():
        seated = set(Player.objects.filter(player_key=account_key).values_list("game_id", flat=True))
        tried = set(Game.objects.filter(owner_key=account_key, daily__isnull=False).values_list("daily", flat=True))
        # Locked as game_join locks them: the account cannot take a seat of one of them while this runs.
        games = Game.objects.select_for_update(of=("self",)).filter(players__player_key=guest_key)
        left = {game.pk for game in games if game.pk in seated or (game.daily in tried and game.owner_key == guest_key)}
        guessed = set(Guess.objects.filter(player_key=guest_key).values_list("round__game_id", flat=True))
        give_way = {pk for pk in left & seated if pk not in guessed}
        Player.objects.filter(player_key=guest_key, game_id__in=give_way).delete()
        Game.objects.filter(pk__in=give_way, owner_key=guest_key).update(owner_key=account_key)
        left -= give_way
        moving = Game.objects.filter(players__player_key=guest_key).exclude(pk__in=left).values("pk")
        guesses = Guess.objects.filter(player_key=guest_key, round__game__in=moving).update(player_key=account_key)
        Game.objects.filter(pk__in=moving, owner_key=guest_key).update(owner_key=account_key)
        seats = Player.objects.filter(player_key=guest_key).exclude(game_id__in=left).update(player_key=account_key)
        known = set(Exposure.objects.filter(player_key=account_key).values_list("panorama_id", "browser_key"))
        exposures = Exposure.objects.filter(player_key=guest_key)
        duplicates = [
            pk
            for pk, panorama, browser in exposures.values_list("pk", "panorama_id", "browser_key")
            if (panorama, browser) in known
        ]
        Exposure.objects.filter(pk__in=duplicates).delete()
        moved = exposures.update(player_key=account_key)
    return HistoryMoved(seats=seats, guesses=guesses, exposures=moved, games_left=len(left))
