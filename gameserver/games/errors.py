"""The errors a player may see. Only these reach a player as a message; anything else is a server error."""

from __future__ import annotations


class GameError(Exception):
    """A request the game cannot honour; the message is safe to show the player."""


class NotFound(GameError):
    pass


class NotAPlayer(GameError):
    """The request comes from someone who has not joined the game."""
