"""The set admin as the games app extends it: the daily challenge's set above the list, and deleting a set (only
one no counted round used; the confirmation page says why one cannot go). The panoramas app's own admin offers
no delete, since whether a round counts is the games' rule; this one takes its place in the admin site."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from gameserver.games.drawing import daily_set, daily_today
from gameserver.games.errors import GameError
from gameserver.games.models import DailySet
from gameserver.games.set_deletion import panorama_set_delete, panorama_set_delete_refusal
from gameserver.panoramas.admin import PanoramaSetAdmin
from gameserver.panoramas.models import PanoramaSet


class PanoramaSetGamesAdmin(PanoramaSetAdmin):
    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "daily": daily_set_described()})

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.has_perm("panoramas.delete_panoramaset"))

    def get_deleted_objects(self, objs: Iterable[PanoramaSet], request: HttpRequest) -> tuple[Any, ...]:
        """Django's summary of what goes, with the refusal of any set a counted round used as the "protected"
        reason it shows instead of deleting (its games are removed by the service, not refused)."""
        objs = list(objs)
        refusals = [refusal for obj in objs if (refusal := panorama_set_delete_refusal(panorama_set=obj))]
        deleted = [
            f"{obj.name}: {obj.panoramas.count()} panoramas, their images in the store, "
            f"{obj.games.count()} uncounted game(s)"
            for obj in objs
        ]
        return deleted, {"panorama sets": len(objs)}, set(), refusals

    def delete_model(self, request: HttpRequest, obj: PanoramaSet) -> None:
        report = panorama_set_delete(panorama_set=obj, user_id=request.user.pk)
        self.message_user(
            request,
            f"deleted {report.panoramas} panoramas, {report.games} game(s) and {report.objects} stored object(s)",
            messages.INFO,
        )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> list[Any]:
        """panorama_set_delete writes the history entry, with what went."""
        return []


admin.site.unregister(PanoramaSet)
admin.site.register(PanoramaSet, PanoramaSetGamesAdmin)


def daily_set_described() -> dict[str, str]:
    """What the set list says of the daily challenge: PLANET_DAILY_SET, and today's set (pinned by the day's first
    try, or the one a first try would take now)."""
    setting = settings.PLANET_DAILY_SET or "unset: the first published set by name with enough panoramas"
    pinned = DailySet.objects.filter(day=daily_today()).select_related("panorama_set").first()
    if pinned is not None:
        return {
            "setting": setting,
            "today": f"{pinned.panorama_set.name} (pinned by today's first try: a set "
            "published later changes only tomorrow's)",
        }
    try:
        return {"setting": setting, "today": f"{daily_set().name} (no try yet today: the first one pins it)"}
    except GameError as error:
        return {"setting": setting, "today": str(error)}
