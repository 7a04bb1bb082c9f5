from django.contrib import admin
from django.urls import include, path

from gameserver.accounts.views import admin_sign_in

urlpatterns = [
    path("admin/login/", admin_sign_in),  # before the admin's own: the same allowance as the game's sign-in
    path("admin/", admin.site.urls),
    path("api/stats/", include("gameserver.stats.urls")),
    path("api/", include("gameserver.accounts.api_urls")),
    path("api/", include("gameserver.games.urls")),
    path("", include("gameserver.pages.urls")),
    path("", include("gameserver.accounts.urls")),
]
