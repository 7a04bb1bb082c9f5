"""Admin: browse sets and panoramas, and import a set by uploading a zip (manifest.csv + images).

Rows are never edited or deleted here: a panorama's location is the benchmark's ground truth, and a deleted
row would leave its stored image behind. Importing needs the add-panorama-set permission (admins)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from gameserver.panoramas.archives import panorama_set_import_zip
from gameserver.panoramas.models import Panorama, PanoramaSet, PanoramaView
from gameserver.panoramas.services import IMPORT_KINDS, PanoramaImportError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PanoramaSetUploadForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="the new set's name (letters, digits, - and _)")
    archive = forms.FileField(help_text="a .zip holding manifest.csv (file, latitude, longitude, ...) and the "
                                        "images it names; blank coordinates are read from EXIF GPS")
    licence = forms.CharField(max_length=200, required=False)
    attribution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    kind = forms.ChoiceField(choices=[("", "from the manifest (default photo)"),
                                      *((kind.value, kind.label) for kind in IMPORT_KINDS)],
                             required=False)

    def clean_archive(self) -> object:
        archive = self.cleaned_data["archive"]
        if archive.size > settings.PANORAMA_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(f"the upload is larger than {settings.PANORAMA_UPLOAD_MAX_BYTES} bytes")
        return archive


# An upload's refused rows listed on the page; the rest are counted (100,000 bad rows made a 6 MB page).
PROBLEMS_SHOWN = 100


@admin.register(PanoramaSet)
class PanoramaSetAdmin(ReadOnlyAdmin):
    list_display = ("name", "panorama_count", "licence", "created_at")
    search_fields = ("name",)
    change_list_template = "admin/panoramas/panoramaset/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PanoramaSet]:
        return super().get_queryset(request).annotate(panorama_count=Count("panoramas"))

    @admin.display(ordering="panorama_count", description="panoramas")
    def panorama_count(self, obj: PanoramaSet) -> int:
        return obj.panorama_count  # type: ignore[attr-defined]

    def get_urls(self) -> list[URLPattern]:
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="panoramas_panoramaset_upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("panoramas.add_panoramaset"):
            raise PermissionDenied
        form = PanoramaSetUploadForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                # An upload is a seekable file (in memory, or a temporary file past 2.5 MB): zipfile reads it.
                report = panorama_set_import_zip(archive=data["archive"], name=data["name"], licence=data["licence"],
                                                 attribution=data["attribution"], kind=data["kind"] or None)
            except PanoramaImportError as error:
                problems = error.problems
            if not problems:
                self.message_user(request, f"imported set {data['name']!r}: {report.count} panoramas, "
                                           f"{report.countries} countries", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:panoramas_panoramaset_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "problems": problems, "problems_shown": problems[:PROBLEMS_SHOWN],
                   "problems_more": max(0, len(problems) - PROBLEMS_SHOWN), "title": "Import a panorama set"}
        return TemplateResponse(request, "admin/panoramas/panoramaset/upload.html", context,
                                status=400 if problems or form.errors else 200)


class PanoramaViewInline(admin.TabularInline):
    """A multi-view place's views, read only like the panorama."""

    model = PanoramaView
    fields = readonly_fields = ("index", "name", "heading", "width", "height", "source_file")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Panorama)
class PanoramaAdmin(ReadOnlyAdmin):
    inlines = [PanoramaViewInline]
    list_display = ("public_id", "panorama_set", "kind", "country", "continent", "width", "height",
                    "near_training_photo", "nearest_training_km")
    list_filter = ("panorama_set", "kind", "near_training_photo", "continent")
    search_fields = ("public_id", "source_file", "country")
    list_select_related = ("panorama_set",)
