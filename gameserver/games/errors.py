"""The errors a player may see. Only these reach a player as a message; anything else is a server error."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gameserver.games.models import Game


class GameError(Exception):
    """A request the game cannot honour; the message is safe to show the player."""


class NotFound(GameError):
    pass


class NotAPlayer(GameError):
    """The request comes from someone who has not joined the game."""


class GameStarted(GameError):
    """Joining closes when a game's first round is served; the latecomer is offered the same game, fresh."""

    def __init__(self, *, game: Game) -> None:
        super().__init__("this game has started: joining is closed. Start a fresh game on the same set instead")
        self.offer = {
            "set": game.panorama_set.name,
            "rounds": game.round_count,
            "mode": game.mode,
            "goal": game.goal,
            "time_limit_s": game.time_limit_s,
            "model": game.model_version.name,
        }


class WaitForHost(GameError):
    """In a room the host (the seat that made the game) starts each round; the others follow its round_started."""

    def __init__(self) -> None:
        super().__init__("the host starts each round of a room: this one starts when they do")
