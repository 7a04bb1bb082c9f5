"""A set's life cycle: draft (staff see and play it) -> published (the lobby, new games, the daily challenge) ->
retired (out of the lobby and new games; its rounds stay in the benchmark's history). Each step is an entry in
the admin's history (LogEntry) under the staff member who took it. A set may be deleted only while no counted
round used it (games/set_deletion.py: whether a round counts is the games app's rule)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from gameserver.audit import CHANGE, audit_log
from gameserver.panoramas.models import PanoramaSet


class LifecycleError(ValueError):
    """A step the set's state does not allow; the message says why."""


# Each step in the past tense, as the history and messages say it.
STEP_DONE = {"publish": "published", "retire": "retired"}
# Which status each step leads to, and the states it may start from.
_STEPS = {
    "publish": (PanoramaSet.Status.PUBLISHED, (PanoramaSet.Status.DRAFT, PanoramaSet.Status.RETIRED)),
    "retire": (PanoramaSet.Status.RETIRED, (PanoramaSet.Status.PUBLISHED, PanoramaSet.Status.DRAFT)),
}


def panorama_sets_visible(*, staff: bool) -> QuerySet[PanoramaSet]:
    """The sets a player may see in the lobby and start a game on: published ones; staff also their drafts."""
    statuses = [PanoramaSet.Status.PUBLISHED, *([PanoramaSet.Status.DRAFT] if staff else [])]
    return PanoramaSet.objects.filter(status__in=statuses)


def panorama_set_step(*, panorama_set: PanoramaSet, step: str, user_id: int | None) -> None:
    """Publish or retire a set, with an entry in the admin's history; LifecycleError if it is already there."""
    target, sources = _STEPS[step]
    with transaction.atomic():
        changed = PanoramaSet.objects.filter(pk=panorama_set.pk, status__in=sources).update(status=target)
        if not changed:
            raise LifecycleError(
                f"set {panorama_set.name!r} is {panorama_set.get_status_display().lower()}: "
                f"it cannot be {STEP_DONE[step]} again"
            )
        panorama_set.status = target
        audit_log(user_id=user_id, obj=panorama_set, action=CHANGE, message=STEP_DONE[step])
