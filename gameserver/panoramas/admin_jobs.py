"""The admin's import jobs: each upload's page (progress while it runs, then the set's summary or every problem)
and the list of jobs, with a resume action for jobs whose worker went away."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from gameserver.panoramas.models import ImportJob
from gameserver.panoramas.uploads import import_jobs_resume

# An upload's refused rows listed on the page; the rest are counted (100,000 bad rows made a 6 MB page).
PROBLEMS_SHOWN = 100


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "name", "job_status", "progress", "created_by", "result")
    list_filter = ("status",)
    search_fields = ("name", "archive_name")
    ordering = ("-created_at",)
    actions = ("resume",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.has_perm("panoramas.add_panoramaset"))

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.has_perm("panoramas.add_panoramaset"))

    @admin.display(description="status", ordering="status")
    def job_status(self, obj: ImportJob) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:panoramas_importjob_change", args=[obj.pk]), obj.get_status_display()
        )

    @admin.display(description="progress")
    def progress(self, obj: ImportJob) -> str:
        return f"{obj.stage} {obj.done}/{obj.total}" if obj.total else "—"

    @admin.display(description="result")
    def result(self, obj: ImportJob) -> str:
        if obj.panorama_set_id:
            return format_html(
                '<a href="{}">{}</a>',
                reverse("admin:panoramas_panoramaset_change", args=[obj.panorama_set_id]),
                obj.summary,
            )
        return f"{len(obj.problems)} problem(s)" if obj.problems else ""

    @admin.action(
        description="Resume the selected jobs that have not ended (their worker went away)", permissions=["change"]
    )
    def resume(self, request: HttpRequest, queryset: Any) -> None:
        self.message_user(
            request, f"asked a worker again for {import_jobs_resume(jobs=queryset)} job(s)", messages.SUCCESS
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The job's page: it reloads itself every second until the job has ended."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=object_id)
        ended = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "job": job,
            "ended": ended,
            "problems_shown": job.problems[:PROBLEMS_SHOWN],
            "problems_more": max(0, len(job.problems) - PROBLEMS_SHOWN),
            "percent": round(100 * job.done / job.total) if job.total else 0,
            "title": f"Import of {job.name}: {job.get_status_display().lower()}",
        }
        return TemplateResponse(request, "admin/panoramas/importjob/job.html", context)
