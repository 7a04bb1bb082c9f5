from django.urls import path

from gameserver.accounts import views

urlpatterns = [
    path("accounts/sign-up", views.sign_up, name="sign-up"),
    path("accounts/sign-in", views.sign_in, name="sign-in"),
    path("accounts/sign-out", views.sign_out, name="sign-out"),
    path("profile", views.profile, name="profile"),
]
