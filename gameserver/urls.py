from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/stats/", include("gameserver.stats.urls")),
    path("api/", include("gameserver.accounts.api_urls")),
    path("api/", include("gameserver.games.urls")),
    path("", include("gameserver.pages.urls")),
    path("", include("gameserver.accounts.urls")),
]
