"""Benchmark API: the tables (public) and round exports (researchers and admins)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from gameserver.stats.exports import CONTENT_TYPES, FORMATS, rows_encode
from gameserver.stats.selectors import Filters, benchmark_cached, round_rows

RESEARCHERS_GROUP = "researchers"


def _filters(request: HttpRequest) -> Filters:
    return Filters(panorama_set=request.GET.get("set", ""), model=request.GET.get("model", ""),
                   mode=request.GET.get("mode", ""), include_suspicious=request.GET.get("suspicious") == "include")


@require_GET
def benchmark(request: HttpRequest) -> JsonResponse:
    return JsonResponse(benchmark_cached(filters=_filters(request)))


@require_GET
def export(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "sign in as a researcher or an admin to export rounds"}, status=401)
    if not (user.is_staff or user.groups.filter(name=RESEARCHERS_GROUP).exists()):
        return JsonResponse({"error": "exports are for researchers and admins"}, status=403)
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        return JsonResponse({"error": f"format must be one of {', '.join(FORMATS)}"}, status=400)
    response = HttpResponse(rows_encode(rows=round_rows(filters=_filters(request)), fmt=fmt),
                            content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="rounds.{fmt}"'
    return response
