from django.urls import path

from gameserver.pages import views

urlpatterns = [
    path("", views.lobby, name="lobby"),
    path("play/<str:game_id>", views.play, name="play"),
    path("stats", views.stats, name="stats"),
    path("datasheet", views.datasheet_page, name="datasheet"),
]
