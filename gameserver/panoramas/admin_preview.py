"""The panorama admin's preview of one photo: its thumbnail, its place on a small world map, and buttons that
exclude it from play (retire) or include it again, each step in the admin's history. The list shows each
photo's thumbnail too, and its bulk actions retire or restore the selected photos."""

from __future__ import annotations

import io

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from gameserver.panoramas.models import Panorama
from gameserver.panoramas.storage import image_open, panorama_image_key

THUMBNAIL_PX = 320


class PanoramaPreviewAdmin(admin.ModelAdmin):
    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/thumbnail.jpg", view(self.thumbnail_view), name="panoramas_panorama_thumbnail"),
            path("<int:pk>/exclude/", view(require_POST(self.exclude_view)), name="panoramas_panorama_exclude"),
            path("<int:pk>/include/", view(require_POST(self.include_view)), name="panoramas_panorama_include"),
            *super().get_urls(),
        ]

    def thumbnail_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        panorama = get_object_or_404(Panorama, pk=pk)
        with image_open(key=panorama_image_key(panorama=panorama)) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=80)
        response = HttpResponse(buffer.getvalue(), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response

    def exclude_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._include(request, pk, retired=True)

    def include_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._include(request, pk, retired=False)

    def _include(self, request: HttpRequest, pk: int, *, retired: bool) -> HttpResponse:
        if not request.user.has_perm("panoramas.change_panorama"):
            raise PermissionDenied
        queryset = Panorama.objects.filter(pk=pk)
        get_object_or_404(queryset)
        self._set_retired(request, queryset, retired=retired)  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse("admin:panoramas_panorama_change", args=[pk]))

    @admin.display(description="photo")
    def thumbnail(self, obj: Panorama) -> str:
        return format_html(
            '<img src="{}" alt="" width="64" loading="lazy">',
            reverse("admin:panoramas_panorama_thumbnail", args=[obj.pk]),
        )

    @admin.display(description="preview")
    def preview(self, obj: Panorama) -> str:
        return format_html(
            '<img src="{}" alt="the photo, as players are served it" width="{}">',
            reverse("admin:panoramas_panorama_thumbnail", args=[obj.pk]),
            THUMBNAIL_PX,
        )

    @admin.display(description="place")
    def place_map(self, obj: Panorama) -> str:
        return world_dot_svg(latitude=obj.latitude, longitude=obj.longitude)

    @admin.display(description="in play")
    def play_buttons(self, obj: Panorama) -> str:
        """Buttons of the page's own form (a form cannot hold another), sent to the exclude or include view."""
        if obj.retired:
            return format_html(
                'Excluded from new games. <button type="submit" formaction="{}" '
                'formmethod="post" id="include-panorama">Include it again</button>',
                reverse("admin:panoramas_panorama_include", args=[obj.pk]),
            )
        return format_html(
            'In play. <button type="submit" formaction="{}" formmethod="post" '
            'id="exclude-panorama">Exclude it from new games</button>',
            reverse("admin:panoramas_panorama_exclude", args=[obj.pk]),
        )


def world_dot_svg(*, latitude: float, longitude: float) -> str:
    """A 360 x 180 equirectangular world with a graticule every 30 degrees and the place as a red dot: numbers
    only, so nothing in it needs escaping."""
    x, y = longitude + 180.0, 90.0 - latitude
    grid = "".join(f'<path d="M{lon} 0V180" stroke="#c5d3de" stroke-width="0.5"/>' for lon in range(30, 360, 30))
    grid += "".join(f'<path d="M0 {lat}H360" stroke="#c5d3de" stroke-width="0.5"/>' for lat in range(30, 180, 30))
    return mark_safe(
        f'<svg viewBox="0 0 360 180" width="360" height="180" role="img" '  # noqa: S308
        f'aria-label="the place at {latitude:.4f}, {longitude:.4f}"><rect width="360" height="180" '
        f'fill="#eef3f7"/>{grid}<circle cx="{x:.2f}" cy="{y:.2f}" r="4" fill="#c62828"/></svg>'
        f"<p>{latitude:.5f}, {longitude:.5f}</p>"
    )
