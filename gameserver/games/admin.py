"""Admin: guesses flagged as suspicious or seen before, and players the anomaly model flags (read only), for staff
to review. Suspicious guesses stay out of the benchmark's default tables (/api/stats/benchmark?suspicious=include
counts them back in); a flagged player's rounds stay out of the verified tier. Players are never told."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from gameserver.games.models import FlaggedGuess, FlaggedPlayer, Guess, Player
from gameserver.games.trust import player_flags_cached
from gameserver.panoramas.admin import ReadOnlyAdmin


@admin.register(FlaggedGuess)
class FlaggedGuessAdmin(ReadOnlyAdmin):
    list_display = ("guessed_at", "player_key", "suspicion", "seen_before", "km", "round_id")
    list_filter = ("suspicion", "seen_before")
    search_fields = ("player_key",)
    ordering = ("-guessed_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Guess]:
        return super().get_queryset(request).filter(~Q(suspicion="") | Q(seen_before=True))


@admin.register(FlaggedPlayer)
class FlaggedPlayerAdmin(ReadOnlyAdmin):
    list_display = ("player_key", "name", "flags", "game", "joined_at")
    search_fields = ("player_key", "name")
    ordering = ("player_key", "-joined_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Player]:
        self._flags = player_flags_cached()
        return super().get_queryset(request).filter(player_key__in=list(self._flags))

    @admin.display(description="anomaly flags")
    def flags(self, obj: Player) -> str:
        return ", ".join(getattr(self, "_flags", {}).get(obj.player_key, ()))
