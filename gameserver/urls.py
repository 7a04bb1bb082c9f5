from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="home"),
    path("admin/", admin.site.urls),
    path("api/stats/", include("gameserver.stats.urls")),
    path("api/", include("gameserver.games.urls")),
]
