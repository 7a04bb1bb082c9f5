"""Deleting a panorama set (the last step of its life cycle, panoramas/lifecycle.py): allowed only while no counted
round used it, since whether a round counts is the games' rule; it removes the set's games, its panoramas and
every object of theirs in the store (images, renders, the rounds' encodings)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from gameserver.audit import DELETION, audit_log
from gameserver.games.models import DailySet, Game, Guess, Round, RoundView
from gameserver.games.rules import guess_exclusion
from gameserver.objectstore import objects_delete
from gameserver.panoramas.lifecycle import LifecycleError
from gameserver.panoramas.models import PanoramaSet, PanoramaView
from gameserver.panoramas.storage import panorama_renders_keys, served_view_key, stored_image_key


def panorama_set_delete_refusal(*, panorama_set: PanoramaSet) -> str | None:
    """Why the set cannot be deleted (a counted round used it), or None when it can."""
    guesses = Guess.objects.filter(round__game__panorama_set=panorama_set).select_related(
        "round__panorama", "round__game"
    )
    counted = sum(1 for guess in guesses.iterator() if guess_exclusion(guess=guess, round=guess.round) == "")
    if counted:
        return (
            f"set {panorama_set.name!r} was played in {counted} counted round(s) of the benchmark: retire it "
            "instead (it leaves the lobby and new games, its history stays)"
        )
    return None


@dataclass(frozen=True)
class DeleteReport:
    games: int
    panoramas: int
    objects: int  # removed from the store


def panorama_set_delete(*, panorama_set: PanoramaSet, user_id: int | None) -> DeleteReport:
    """Delete a set no counted round used: its (uncounted) games, its panoramas and their views, then every object
    of theirs in the store (images, renders, the rounds' encodings). LifecycleError otherwise."""
    refusal = panorama_set_delete_refusal(panorama_set=panorama_set)
    if refusal:
        raise LifecycleError(refusal)
    panoramas = list(panorama_set.panoramas.all())
    keys = [stored_image_key(name=p.image_name) for p in panoramas]
    keys += [
        stored_image_key(name=name)
        for name in PanoramaView.objects.filter(panorama__panorama_set=panorama_set).values_list(
            "image_name", flat=True
        )
    ]
    games = Game.objects.filter(panorama_set=panorama_set)
    keys += [
        served_view_key(name=name)
        for name in Round.objects.filter(game__panorama_set=panorama_set)
        .exclude(view_name="")
        .values_list("view_name", flat=True)
    ]
    keys += [
        served_view_key(name=name)
        for name in RoundView.objects.filter(round__game__panorama_set=panorama_set).values_list("view_name", flat=True)
    ]
    keys += panorama_renders_keys(public_ids=[p.public_id for p in panoramas])
    with transaction.atomic():
        game_count = games.count()
        audit_log(
            user_id=user_id,
            obj=panorama_set,
            action=DELETION,
            message=f"deleted with {len(panoramas)} panoramas and {game_count} uncounted game(s)",
        )
        # Rounds hold their panorama (PROTECT): the games go first, then the days the daily drew from the set.
        games.delete()
        DailySet.objects.filter(panorama_set=panorama_set).delete()
        panorama_set.delete()
    # After the commit: a failed delete leaves every file in place; a failed file removal only leaves an orphan.
    objects_delete(keys=keys)
    return DeleteReport(games=game_count, panoramas=len(panoramas), objects=len(keys))
