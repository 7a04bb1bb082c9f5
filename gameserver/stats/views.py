"""Benchmark API: the tables (public) and round exports (researchers and admins)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gameserver.games.middleware import BROWSER_PAGE
from gameserver.games.models import Game
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import PanoramaSet
from gameserver.stats.export_bundle import export_bundle
from gameserver.stats.exports import FORMATS
from gameserver.stats.selectors import Filters, benchmark_cached, round_rows
from gameserver.stats.tiers import TIERS

RESEARCHERS_GROUP = "researchers"


class FilterError(ValueError):
    """A filter that names nothing: said, rather than answered with empty tables that read as "no rounds"."""


def _filters(request: HttpRequest) -> Filters:
    panorama_set, model = request.GET.get("set", ""), request.GET.get("model", "")
    mode, suspicious = request.GET.get("mode", ""), request.GET.get("suspicious", "")
    if panorama_set and not PanoramaSet.objects.filter(name=panorama_set).exists():
        raise FilterError(f"set: no panorama set is named {panorama_set!r}")
    if model and not ModelVersion.objects.filter(name=model).exists():
        raise FilterError(f"model: no model is named {model!r}")
    if mode and mode not in Game.Mode.values:
        raise FilterError(f"mode must be one of {', '.join(Game.Mode.values)}")
    if suspicious not in ("", "include"):
        raise FilterError("suspicious must be 'include' or empty")
    tier = request.GET.get("tier", "verified")
    if tier not in TIERS:
        raise FilterError(f"tier must be one of {', '.join(TIERS)}")
    return Filters(
        panorama_set=panorama_set, model=model, mode=mode, include_suspicious=suspicious == "include", tier=tier
    )


@require_GET
def benchmark(request: HttpRequest) -> JsonResponse:
    try:
        filters = _filters(request)
    except FilterError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(benchmark_cached(filters=filters))


def _refused(request: HttpRequest, error: str, *, status: int) -> HttpResponse:
    """An export refused: a page saying why to a browser that followed the benchmark page's link (it showed raw
    JSON), the JSON error to a program."""
    if "text/html" in request.headers.get("Accept", ""):
        page = render(
            request,
            "export_refused.html",
            {"page": "stats", "signed_in": request.user.is_authenticated, "next": request.get_full_path()},
            status=status,
        )
        setattr(page, BROWSER_PAGE, True)  # ApiErrorsMiddleware keeps it (it makes other /api/ errors JSON)
        return page
    return JsonResponse({"error": error}, status=status)


@require_GET
def export(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return _refused(request, "sign in as a researcher or an admin to export rounds", status=401)
    if not (user.is_staff or user.groups.filter(name=RESEARCHERS_GROUP).exists()):
        return _refused(request, "exports are for researchers and admins", status=403)
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        return JsonResponse({"error": f"format must be one of {', '.join(FORMATS)}"}, status=400)
    try:
        filters = _filters(request)
    except FilterError as error:
        return JsonResponse({"error": str(error)}, status=400)
    name, data = export_bundle(rows=round_rows(filters=filters), fmt=fmt, filters=filters.as_dict())
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
