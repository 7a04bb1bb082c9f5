"""The admin's history (django.contrib.admin's LogEntry: "Recent actions" and each object's history page) written
by services, so that a step taken through the admin, a command or a job is recorded the same way."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

__all__ = ["ADDITION", "CHANGE", "DELETION", "audit_log"]


def audit_log(*, user_id: int | None, obj: Model, action: int, message: str) -> None:
    """One history entry for `obj` under the staff member who acted; none when nobody did (a command run by an
    operator has no account: its output is its record)."""
    if user_id is None:
        return
    kind = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    LogEntry.objects.create(
        user_id=user_id,
        content_type=kind,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action_flag=action,
        change_message=message,
    )
