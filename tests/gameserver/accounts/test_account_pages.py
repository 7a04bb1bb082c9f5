"""Sign up, sign in and out: Django's validators, clear errors with nothing written on bad input, a limit on
attempts per address, and the guest's games brought into the account on sign-up and on sign-in."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gameserver.games.models import Guess, Player

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery 42"


def post_json(client: Client, url: str, body: object):  # -> HttpResponse
    return client.post(url, data=json.dumps(body), content_type="application/json")


def play_one_round(client: Client, synthetic: str, name: str = "Ada") -> str:
    game = post_json(client, "/api/games", {"set": synthetic, "rounds": 1, "name": name}).json()["game"]
    round_id = post_json(client, f"/api/games/{game}/rounds/1/start", {}).json()["round"]
    assert post_json(client, f"/api/rounds/{round_id}/guess", {"latitude": 1.0, "longitude": 2.0}).status_code == 201
    return game


def sign_up(client: Client, username: str = "ada", password: str = PASSWORD, **extra: str):  # -> HttpResponse
    return client.post(
        "/accounts/sign-up", {"username": username, "password1": password, "password2": password, **extra}
    )


def test_the_pages_render_with_their_forms_and_the_header_links_them():
    client = Client()
    for url, field in (("/accounts/sign-up", 'name="password2"'), ("/accounts/sign-in", 'name="password"')):
        page = client.get(url)
        assert page.status_code == 200 and field in page.content.decode()
        assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    lobby = client.get("/").content.decode()
    assert 'href="/accounts/sign-in"' in lobby and 'href="/profile"' in lobby


def test_sign_up_signs_in_and_keeps_the_guests_round(synthetic):
    client = Client()
    game = play_one_round(client, synthetic)
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/profile"
    user = User.objects.get(username="ada")
    assert client.get("/api/session").json() == {"player": "user", "name": "ada"}
    assert list(Player.objects.filter(game__public_id=game).values_list("player_key", flat=True)) == [f"user:{user.pk}"]
    assert list(Guess.objects.values_list("player_key", flat=True)) == [f"user:{user.pk}"]
    assert client.get(f"/api/games/{game}").json()["joined"] is True


def test_sign_in_keeps_the_guests_round_too_and_sign_out_ends_the_session(synthetic):
    user = User.objects.create_user("ada", password=PASSWORD)
    client = Client()
    game = play_one_round(client, synthetic)
    response = client.post("/accounts/sign-in?next=/play/" + game, {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == f"/play/{game}"
    assert list(Guess.objects.values_list("player_key", flat=True)) == [f"user:{user.pk}"]
    assert client.post("/accounts/sign-out").status_code == 302
    assert client.get("/api/session").json()["player"] == "guest"


def test_a_next_url_to_another_host_is_not_followed():
    User.objects.create_user("ada", password=PASSWORD)
    response = Client().post("/accounts/sign-in?next=https://evil.example/", {"username": "ada", "password": PASSWORD})
    assert response["Location"] == "/profile"


@pytest.mark.parametrize(
    "username, password, confirm, message",
    [
        ("ada", "password", "password", "This password is too common."),
        ("ada", "71829364", "71829364", "This password is entirely numeric."),
        ("ada", PASSWORD, PASSWORD + "x", "The two password fields didn’t match."),
        ("a da", PASSWORD, PASSWORD, "Enter a valid username."),
        ("", PASSWORD, PASSWORD, "This field is required."),
    ],
)
def test_a_bad_sign_up_says_why_and_writes_nothing(synthetic, username, password, confirm, message):
    client = Client()
    play_one_round(client, synthetic)
    response = client.post("/accounts/sign-up", {"username": username, "password1": password, "password2": confirm})
    assert response.status_code == 400 and message in response.content.decode()
    assert not User.objects.exists()
    assert Player.objects.get().player_key.startswith("guest:")
    assert client.get("/api/session").json()["player"] == "guest"


@pytest.mark.parametrize("username", ["ada", "ADA"])
def test_a_taken_username_is_refused_without_saying_that_an_account_has_it(username):
    """A sign-up must learn that it cannot have the name, but not in words that tell an account exists."""
    User.objects.create_user("ada", password=PASSWORD)
    page = sign_up(Client(), username=username).content.decode().lower()
    assert "this username cannot be used" in page
    assert not {"exists", "already", "taken", "a user with"} & set(page.replace(".", " ").split()), page
    assert User.objects.count() == 1


def test_a_wrong_password_says_so_and_moves_nothing(synthetic):
    User.objects.create_user("ada", password=PASSWORD)
    client = Client()
    play_one_round(client, synthetic)
    response = client.post("/accounts/sign-in", {"username": "ada", "password": "wrong"})
    assert response.status_code == 400 and "Please enter a correct username and password" in response.content.decode()
    assert Player.objects.get().player_key.startswith("guest:")


def test_attempts_are_limited_per_address_and_a_refused_one_writes_nothing(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "accounts": "2/60"}
    User.objects.create_user("ada", password=PASSWORD)
    client = Client(REMOTE_ADDR="10.0.0.1")
    assert client.post("/accounts/sign-in", {"username": "ada", "password": "wrong"}).status_code == 400
    assert sign_up(Client(REMOTE_ADDR="10.0.0.1"), "bea").status_code == 302
    refused = sign_up(Client(REMOTE_ADDR="10.0.0.1"), "cy")
    assert refused.status_code == 429 and "too many requests" in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert sorted(User.objects.values_list("username", flat=True)) == ["ada", "bea"]
    assert client.get("/accounts/sign-in").status_code == 200  # reading the form is not an attempt
    assert sign_up(Client(REMOTE_ADDR="10.0.0.2"), "cy").status_code == 302


def test_signing_up_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert sign_up(client).status_code == 403
    assert not User.objects.exists()


def test_the_admins_sign_in_shares_the_allowance_so_a_staff_password_cannot_be_brute_forced(settings):
    """The Django admin's own login page took any number of guesses (a probe's 26th, the right one, got in)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "accounts": "3/60"}
    User.objects.create_superuser("root", password=PASSWORD)
    client = Client(REMOTE_ADDR="10.0.0.3")
    assert client.get("/admin/login/").status_code == 200  # reading the form is not an attempt
    for _ in range(3):
        assert client.post("/admin/login/", {"username": "root", "password": "wrong"}).status_code == 200
    refused = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session
    other = Client(REMOTE_ADDR="10.0.0.4")
    assert other.post("/admin/login/", {"username": "root", "password": PASSWORD}).status_code == 302


def test_an_address_makes_only_a_few_accounts_a_day(settings):
    """An identity with a cost: a fresh cookie jar is free, an account is not (PLANET_SIGNUPS_PER_ADDRESS_DAY)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signups": "2/86400"}
    assert sign_up(Client(REMOTE_ADDR="10.0.0.7"), "one").status_code == 302
    assert sign_up(Client(REMOTE_ADDR="10.0.0.7"), "two").status_code == 302
    refused = sign_up(Client(REMOTE_ADDR="10.0.0.7"), "three")
    assert refused.status_code == 429 and "too many requests (signups)" in refused.content.decode()
    assert int(refused["Retry-After"]) > 3600
    assert sorted(User.objects.values_list("username", flat=True)) == ["one", "two"]
    assert sign_up(Client(REMOTE_ADDR="10.0.0.8"), "three").status_code == 302
