from django.urls import path

from gameserver.accounts import views

urlpatterns = [
    path("profile", views.profile_api, name="api-profile"),
    path("profile/data", views.profile_data, name="api-profile-data"),
    path("profile/delete", views.profile_delete, name="api-profile-delete"),
]
