from django.urls import path

from gameserver.games import views

urlpatterns = [
    path("session", views.session, name="api-session"),
    path("schema", views.schema, name="api-schema"),
    path("catalogue", views.catalogue, name="api-catalogue"),
    path("games", views.game_create, name="api-game-create"),
    path("daily", views.daily_play, name="api-daily"),
    path("daily/leaderboard", views.daily_leaderboard, name="api-daily-leaderboard"),
    path("games/<str:game_id>", views.game_detail, name="api-game"),
    path("games/<str:game_id>/join", views.game_join, name="api-game-join"),
    path("games/<str:game_id>/rematch", views.game_rematch, name="api-game-rematch"),
    path("games/<str:game_id>/rounds/<int:number>/start", views.round_start, name="api-round-start"),
    path("rounds/<str:round_id>", views.round_detail, name="api-round"),
    path("rounds/<str:round_id>/image", views.round_image, name="api-round-image"),
    path("rounds/<str:round_id>/views/<int:number>", views.round_view_image, name="api-round-view"),
    path("rounds/<str:round_id>/guess", views.guess_create, name="api-guess"),
]
