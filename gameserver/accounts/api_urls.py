from django.urls import path

from gameserver.accounts import views

urlpatterns = [
    path("profile", views.profile_api, name="api-profile"),
]
