"""Staff moderation of players' display names: a name shown in rooms, reveals and public tables can be renamed or
hidden. The change applies to every seat the player holds (their key), and each is in the admin's history."""

from __future__ import annotations

import hashlib

from django.db import transaction

from gameserver.audit import CHANGE, audit_log
from gameserver.games.errors import GameError
from gameserver.games.models import Player
from gameserver.games.services import MAX_NAME_LENGTH


def player_name_hidden(player_key: str) -> str:
    """The name a hidden player is shown under: nothing of the old name, nothing of the key."""
    return f"player-{hashlib.sha256(player_key.encode()).hexdigest()[:6]}"


def player_name_checked(name: str) -> str:
    """A name staff give, its blanks made one space; GameError when it is empty or too long."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise GameError(f"a player name has 1 to {MAX_NAME_LENGTH} characters")
    return name


def player_rename(*, player_key: str, name: str, user_id: int | None, reason: str = "renamed") -> int:
    """Give every seat of the player `name`; the number of seats changed. GameError for an empty or long name."""
    name = player_name_checked(name)
    with transaction.atomic():
        seats = list(Player.objects.select_for_update().filter(player_key=player_key).exclude(name=name))
        for seat in seats:
            audit_log(
                user_id=user_id, obj=seat, action=CHANGE, message=f"{reason}: display name {seat.name!r} -> {name!r}"
            )
        Player.objects.filter(pk__in=[seat.pk for seat in seats]).update(name=name)
    return len(seats)


def player_hide(*, player_key: str, user_id: int | None) -> int:
    return player_rename(player_key=player_key, name=player_name_hidden(player_key), user_id=user_id, reason="hidden")
