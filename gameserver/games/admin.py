"""Admin: guesses flagged as suspicious or seen before (read only), for staff to review. They stay out of the
benchmark's default tables; /api/stats/benchmark?suspicious=include counts the suspicious ones back in."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from gameserver.games.models import FlaggedGuess, Guess
from gameserver.panoramas.admin import ReadOnlyAdmin


@admin.register(FlaggedGuess)
class FlaggedGuessAdmin(ReadOnlyAdmin):
    list_display = ("guessed_at", "player_key", "suspicion", "seen_before", "km", "round_id")
    list_filter = ("suspicion", "seen_before")
    search_fields = ("player_key",)
    ordering = ("-guessed_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Guess]:
        return super().get_queryset(request).filter(~Q(suspicion="") | Q(seen_before=True))
