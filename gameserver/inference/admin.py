"""Admin: the registered model versions, registering a checkpoint by upload (PlaNet's or a kNN gallery; never a
path on the server) and registering an
external model by uploading its predictions for a set (admins: the add-model-version permission). Registering a
name again adds a version. A version is never edited or deleted here: its games and their benchmark rows point
at it. Each registration is in the admin's history."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from gameserver.inference.external import PREDICTIONS_MAX_BYTES, PredictionsError, external_predictions_register
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.admin import ReadOnlyAdmin
from gameserver.panoramas.models import PanoramaSet


class ModelVersionRegisterForm(forms.Form):
    name = forms.SlugField(
        max_length=100,
        help_text="e.g. planet-lite2; registering a name again adds a version (its "
        "old version's games keep their checkpoint)",
    )
    kind = forms.TypedChoiceField(
        choices=[
            (ModelVersion.Kind.PLANET, "PlaNet (python -m planet_engine train)"),
            (ModelVersion.Kind.KNN, "kNN retrieval (python -m planet_engine knn-build)"),
        ],
        required=False,
        empty_value=ModelVersion.Kind.PLANET,
    )
    checkpoint = forms.FileField(
        help_text="a planet_engine checkpoint (.pt), at most "
        "PLANET_CHECKPOINT_UPLOAD_MAX_BYTES; checked, then kept in the object "
        "store, where every inference worker finds it"
    )
    default = forms.BooleanField(required=False, help_text="games that name no model play this one")


class PredictionsUploadForm(forms.Form):
    name = forms.SlugField(
        max_length=100, help_text="e.g. geoclip; uploading again replaces its predictions for that set"
    )
    panorama_set = forms.ModelChoiceField(queryset=PanoramaSet.objects.order_by("name"), label="Set")
    predictions = forms.FileField(
        help_text="CSV (file, latitude, longitude, optional top_cells as JSON) or JSON "
        "lines, one row per panorama, keyed by the manifest's file names"
    )
    description = forms.CharField(max_length=300, required=False)
    default = forms.BooleanField(required=False, help_text="games that name no model play this one")
    partial = forms.BooleanField(
        required=False,
        label="Allow partial coverage",
        help_text="register a file that predicts only part of the set (its games play only the panoramas it predicts)",
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("name", "family", "number", "kind", "is_default", "description", "short_sha256", "created_at")
    list_filter = ("kind", "family")
    search_fields = ("name", "family", "description")
    change_list_template = "admin/inference/modelversion/change_list.html"

    @admin.display(description="sha256")
    def short_sha256(self, obj: ModelVersion) -> str:
        return obj.checkpoint_sha256[:12]

    def get_urls(self) -> list[URLPattern]:
        register = path(
            "register/", self.admin_site.admin_view(self.register_view), name="inference_modelversion_register"
        )
        predictions = path(
            "predictions/", self.admin_site.admin_view(self.predictions_view), name="inference_modelversion_predictions"
        )
        return [register, predictions, *super().get_urls()]

    def register_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("inference.add_modelversion"):
            raise PermissionDenied
        # The engine (torch) is imported by a registration, not by every process that loads the admin.
        from gameserver.inference.registration import ModelVersionError, model_version_register_upload

        form = ModelVersionRegisterForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                version = model_version_register_upload(
                    name=data["name"],
                    upload=data["checkpoint"],
                    default=data["default"],
                    kind=data["kind"],
                    user_id=request.user.pk,
                )
            except ModelVersionError as error:
                form.add_error("checkpoint", str(error))
            else:
                self.message_user(
                    request,
                    f"registered model {version.name!r} (version {version.number} of "
                    f"{version.family!r}): {version.description}",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:inference_modelversion_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Register a model version",
        }
        return TemplateResponse(
            request, "admin/inference/modelversion/register.html", context, status=400 if form.errors else 200
        )

    def predictions_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("inference.add_modelversion"):
            raise PermissionDenied
        form = PredictionsUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data, upload = form.cleaned_data, form.cleaned_data["predictions"]
            try:
                if upload.size > PREDICTIONS_MAX_BYTES:  # before reading it all into memory
                    raise PredictionsError([f"the file is over {PREDICTIONS_MAX_BYTES // 2**20} MiB"])
                version = external_predictions_register(
                    name=data["name"],
                    panorama_set=data["panorama_set"],
                    data=upload.read(),
                    file_name=upload.name,
                    source=f"upload:{upload.name}",
                    default=data["default"],
                    description=data["description"],
                    partial=data["partial"],
                    user_id=request.user.pk,
                )
            except PredictionsError as error:
                form.add_error("predictions", str(error))
            else:
                covered = version.external_predictions.filter(panorama__panorama_set=data["panorama_set"]).count()
                self.message_user(
                    request,
                    f"registered external model {version.name!r}: predictions for {covered} "
                    f"of the {data['panorama_set'].panoramas.count()} panoramas of "
                    f"{data['panorama_set'].name}",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:inference_modelversion_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Register an external model by its predictions",
        }
        return TemplateResponse(
            request, "admin/inference/modelversion/predictions.html", context, status=400 if form.errors else 200
        )
