"""Admin: games with their seats and rounds (read only), players' display names (rename, hide), guesses flagged as
suspicious or seen before, and players the anomaly model flags (read only), for staff to review. Suspicious
guesses stay out of the benchmark's default tables (/api/stats/benchmark?suspicious=include counts them back in);
a flagged player's rounds stay out of the verified tier. Players are never told."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from gameserver.games import admin_sets  # noqa: F401  (the set admin with deletion and the daily's set)
from gameserver.games.errors import GameError
from gameserver.games.models import FlaggedGuess, FlaggedPlayer, Game, Guess, Player, Round
from gameserver.games.moderation import player_hide, player_name_checked, player_rename
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


class RoundInline(admin.TabularInline):
    model = Round
    fields = readonly_fields = ("number", "panorama", "served_at", "model_status", "model_checkpoint_sha256")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SeatInline(admin.TabularInline):
    model = Player
    fields = readonly_fields = ("name", "player_key", "joined_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Game)
class GameAdmin(ReadOnlyAdmin):
    """Games, found by a player (name or key), a set, a model or a game id; read only: they are the history."""

    list_display = ("public_id", "panorama_set", "model_version", "goal", "round_count", "daily", "created_at")
    list_filter = ("panorama_set", "model_version", "goal")
    search_fields = ("public_id", "panorama_set__name", "model_version__name", "players__name", "players__player_key")
    list_select_related = ("panorama_set", "model_version")
    inlines = [SeatInline, RoundInline]
    ordering = ("-created_at",)


class PlayerNameForm(forms.ModelForm):
    class Meta:
        model = Player
        fields = ("name",)

    def clean_name(self) -> str:
        try:
            return player_name_checked(str(self.cleaned_data["name"]))
        except GameError as error:
            raise forms.ValidationError(str(error)) from None


@admin.register(Player)
class PlayerAdmin(ReadOnlyAdmin):
    """Each seat with its display name, found by player or set. Staff rename a player (every seat they hold) or
    hide their name (hide action); each change is in the admin's history (games/moderation.py)."""

    form = PlayerNameForm
    list_display = ("name", "player_key", "game", "set_name", "joined_at")
    search_fields = ("name", "player_key", "game__panorama_set__name", "game__public_id")
    list_select_related = ("game__panorama_set",)
    fields = ("name", "player_key", "game", "joined_at")
    readonly_fields = ("player_key", "game", "joined_at")
    ordering = ("-joined_at",)
    actions = ("hide_names",)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.has_perm("games.change_player"))

    @admin.display(description="set", ordering="game__panorama_set__name")
    def set_name(self, obj: Player) -> str:
        return obj.game.panorama_set.name

    def save_model(self, request: HttpRequest, obj: Player, form: Any, change: bool) -> None:
        count = player_rename(player_key=obj.player_key, name=obj.name, user_id=request.user.pk)
        self.message_user(request, f"renamed in {count} seat(s)", messages.SUCCESS)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """player_rename writes the history entries, with the old and the new name."""
        return None

    @admin.action(description="Hide the selected players' names (everywhere they are shown)", permissions=["change"])
    def hide_names(self, request: HttpRequest, queryset: QuerySet[Player]) -> None:
        keys = set(queryset.values_list("player_key", flat=True))
        seats = sum(player_hide(player_key=key, user_id=request.user.pk) for key in keys)
        self.message_user(request, f"hid {len(keys)} player name(s) in {seats} seat(s)", messages.SUCCESS)
