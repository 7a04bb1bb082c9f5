"""The set admin's life-cycle steps: publish and retire (actions asking for confirmation first) and delete (only a
set no counted round used; the confirmation page says why one cannot go). Each step is written to the admin's
history by panoramas/lifecycle.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from gameserver.games.drawing import daily_set, daily_today
from gameserver.games.errors import GameError
from gameserver.games.models import DailySet
from gameserver.panoramas.lifecycle import (
    STEP_DONE,
    LifecycleError,
    panorama_set_delete,
    panorama_set_delete_refusal,
    panorama_set_step,
)
from gameserver.panoramas.models import PanoramaSet

_WHAT = {
    "publish": "Published sets are in the lobby and new games, and may become the daily challenge's set.",
    "retire": "Retired sets leave the lobby and new games; their rounds stay in the benchmark's history.",
}


class SetLifecycleAdmin(admin.ModelAdmin):
    actions = ("publish", "retire")

    @admin.action(description="Publish the selected sets (into the lobby and new games)", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._step(request, queryset, step="publish")

    @admin.action(description="Retire the selected sets (out of the lobby and new games, kept for history)",
                  permissions=["change"])
    def retire(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._step(request, queryset, step="retire")

    def _step(self, request: HttpRequest, queryset: Any, *, step: str) -> HttpResponse | None:
        sets = list(queryset.order_by("name"))
        if request.POST.get("post") != "yes":  # first the confirmation page; its form posts the action again
            context = {**self.admin_site.each_context(request), "opts": self.model._meta, "sets": sets,
                       "step": step, "what": _WHAT[step], "action_checkbox_name": ACTION_CHECKBOX_NAME,
                       "title": f"{step.capitalize()} {len(sets)} set(s)?"}
            return TemplateResponse(request, "admin/panoramas/panoramaset/lifecycle_confirm.html", context)
        done = []
        for panorama_set in sets:
            try:
                panorama_set_step(panorama_set=panorama_set, step=step, user_id=request.user.pk)
            except LifecycleError as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                done.append(panorama_set.name)
        if done:
            self.message_user(request, f"{STEP_DONE[step]}: {', '.join(done)}", messages.SUCCESS)
        return None

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "daily": daily_set_described()})

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.has_perm("panoramas.delete_panoramaset"))

    def get_deleted_objects(self, objs: Iterable[PanoramaSet], request: HttpRequest) -> tuple[Any, ...]:
        """Django's summary of what goes, with the refusal of any set a counted round used as the "protected"
        reason it shows instead of deleting (its games are removed by the service, not refused)."""
        objs = list(objs)
        refusals = [refusal for obj in objs if (refusal := panorama_set_delete_refusal(panorama_set=obj))]
        deleted = [f"{obj.name}: {obj.panoramas.count()} panoramas, their images in the store, "
                   f"{obj.games.count()} uncounted game(s)" for obj in objs]
        return deleted, {"panorama sets": len(objs)}, set(), refusals

    def delete_model(self, request: HttpRequest, obj: PanoramaSet) -> None:
        report = panorama_set_delete(panorama_set=obj, user_id=request.user.pk)
        self.message_user(request, f"deleted {report.panoramas} panoramas, {report.games} game(s) and "
                                   f"{report.objects} stored object(s)", messages.INFO)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> list[Any]:
        """panorama_set_delete writes the history entry, with what went."""
        return []


def daily_set_described() -> dict[str, str]:
    """What the set list says of the daily challenge: PLANET_DAILY_SET, and today's set (pinned by the day's first
    try, or the one a first try would take now)."""
    setting = settings.PLANET_DAILY_SET or "unset: the first published set by name with enough panoramas"
    pinned = DailySet.objects.filter(day=daily_today()).select_related("panorama_set").first()
    if pinned is not None:
        return {"setting": setting, "today": f"{pinned.panorama_set.name} (pinned by today's first try: a set "
                                             "published later changes only tomorrow's)"}
    try:
        return {"setting": setting, "today": f"{daily_set().name} (no try yet today: the first one pins it)"}
    except GameError as error:
        return {"setting": setting, "today": str(error)}
