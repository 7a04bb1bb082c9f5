"""Admin: the registered model versions, and registering a checkpoint (admins: the add-model-version
permission). A version is never edited or deleted here: its games and their benchmark rows point at it."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from gameserver.inference.models import ModelVersion
from gameserver.inference.services import ModelVersionError, model_version_register
from gameserver.panoramas.admin import ReadOnlyAdmin


class ModelVersionRegisterForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="e.g. planet-lite2-v1; registering a name again replaces it")
    checkpoint = forms.CharField(max_length=500, help_text="path of a planet_engine checkpoint (.pt) on the "
                                                           "server, readable by the inference workers")
    default = forms.BooleanField(required=False, help_text="games that name no model play this one")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_default", "description", "short_sha256", "created_at")
    search_fields = ("name", "description")
    change_list_template = "admin/inference/modelversion/change_list.html"

    @admin.display(description="sha256")
    def short_sha256(self, obj: ModelVersion) -> str:
        return obj.checkpoint_sha256[:12]

    def get_urls(self) -> list[URLPattern]:
        register = path("register/", self.admin_site.admin_view(self.register_view),
                        name="inference_modelversion_register")
        return [register, *super().get_urls()]

    def register_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("inference.add_modelversion"):
            raise PermissionDenied
        form = ModelVersionRegisterForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                version = model_version_register(name=data["name"], checkpoint=Path(data["checkpoint"]),
                                                 default=data["default"])
            except ModelVersionError as error:
                form.add_error("checkpoint", str(error))
            else:
                self.message_user(request, f"registered model {version.name!r}: {version.description}",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:inference_modelversion_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Register a model version"}
        return TemplateResponse(request, "admin/inference/modelversion/register.html", context,
                                status=400 if form.errors else 200)
