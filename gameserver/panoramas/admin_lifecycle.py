"""The set admin's life-cycle steps: publish and retire (actions asking for confirmation first), each written to the
admin's history by panoramas/lifecycle.py. Deleting a set needs the games' rule of which rounds count: the games
app's admin adds it (games/admin_sets.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from gameserver.panoramas.lifecycle import STEP_DONE, LifecycleError, panorama_set_step

_WHAT = {
    "publish": "Published sets are in the lobby and new games, and may become the daily challenge's set.",
    "retire": "Retired sets leave the lobby and new games; their rounds stay in the benchmark's history.",
}


class SetLifecycleAdmin(admin.ModelAdmin):
    actions = ("publish", "retire")

    @admin.action(description="Publish the selected sets (into the lobby and new games)", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._step(request, queryset, step="publish")

    @admin.action(
        description="Retire the selected sets (out of the lobby and new games, kept for history)",
        permissions=["change"],
    )
    def retire(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._step(request, queryset, step="retire")

    def _step(self, request: HttpRequest, queryset: Any, *, step: str) -> HttpResponse | None:
        sets = list(queryset.order_by("name"))
        if request.POST.get("post") != "yes":  # first the confirmation page; its form posts the action again
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "sets": sets,
                "step": step,
                "what": _WHAT[step],
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "title": f"{step.capitalize()} {len(sets)} set(s)?",
            }
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
