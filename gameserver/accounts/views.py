"""Sign up, sign in and out (server-rendered forms, Django's auth and password validators), the profile page
and its JSON. Signing up or in takes this browser's guest history into the account."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gameserver.accounts.forms import SignUpForm
from gameserver.accounts.selectors import account_data, player_profile
from gameserver.accounts.services import account_data_delete, guest_history_move
from gameserver.games.client_address import client_address
from gameserver.games.throttle import RateLimited, rate_limit_hit
from gameserver.games.views import BROWSER_KEY, player_key

# Only these may follow a sign-in: the game's own pages, never another host.
NEXT = "next"


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST if request.method == "POST" else None)

    def create() -> User:
        # An identity with a cost: PLANET_SIGNUPS_PER_ADDRESS_DAY new accounts an address a day, counted only
        # when one is made (a mistyped form spends the sign-in allowance, not this).
        rate_limit_hit(scope="signups", key=client_address(request))
        return form.save()

    return _account_form(request, form=form, user_of=create, template="accounts/sign_up.html")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, request.POST if request.method == "POST" else None)
    return _account_form(request, form=form, user_of=form.get_user, template="accounts/sign_in.html")


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The Django admin's login page, each POST counted against the address's allowance as the game's own sign-in
    is: left alone, it takes any number of guesses at a staff password."""
    if request.method == "POST":
        try:
            rate_limit_hit(scope="accounts", key=client_address(request))
        except RateLimited as error:
            response = HttpResponse(f"{error}\n", status=429, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(error.retry_after_s)
            return response
    return admin.site.login(request)


def _account_form(request: HttpRequest, *, form: BaseForm, user_of: Callable[[], User], template: str) -> HttpResponse:
    """GET shows the form; a valid POST's user (`user_of`: the new account, or the one whose password matched)
    is signed in. A POST is counted against the address's allowance (PLANET_RATE_LIMIT_ACCOUNTS),
    then signs in when the form is valid, else shows it again with its errors. Nothing is written on bad input
    or over the limit."""
    next_url = _next_url(request)
    context = {"page": "account", "form": form, "next": next_url}
    if request.method != "POST":
        return render(request, template, context)
    try:
        rate_limit_hit(scope="accounts", key=client_address(request))
        if not form.is_valid():
            return render(request, template, context, status=400)
        with transaction.atomic():
            _sign_in_keeping_history(request, user=user_of())
    except RateLimited as error:
        response = render(request, template, {**context, "limited": str(error)}, status=429)
        response["Retry-After"] = str(error.retry_after_s)
        return response
    return HttpResponseRedirect(next_url)


def _sign_in_keeping_history(request: HttpRequest, *, user: User) -> None:
    """Sign in, and move what this browser played as a guest into the account. The guest's key is read before
    login(), which gives the session a new key (its data, the browser key among it, stays)."""
    guest = None
    if not request.user.is_authenticated and request.session.session_key is not None:
        guest = player_key(request)
    login(request, user)
    if guest is not None:
        guest_history_move(guest_key=guest, account_key=player_key(request))


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get(NEXT) or request.GET.get(NEXT) or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("profile")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    # The browser stays the same browser: its id outlives the session, or signing out would give it a second
    # daily try and forget the panoramas it has seen revealed.
    browser = request.session.get(BROWSER_KEY)
    logout(request)
    if isinstance(browser, str):
        request.session[BROWSER_KEY] = browser
    return redirect("lobby")


@require_GET
@ensure_csrf_cookie
def profile(request: HttpRequest) -> HttpResponse:
    """The page is a shell: profile.js reads /api/profile and draws the rating plot."""
    return render(request, "accounts/profile.html", {"page": "profile"})


@require_GET
def profile_data(request: HttpRequest) -> JsonResponse:
    """A signed-in player's own rounds, as a file to keep."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "sign in to download your data"}, status=401)
    response = JsonResponse(account_data(player_key=player_key(request)))
    response["Content-Disposition"] = 'attachment; filename="planet-arena-my-rounds.json"'
    return response


@require_POST
def profile_delete(request: HttpRequest) -> JsonResponse:
    """Delete a signed-in player's rounds; the body must say {"confirm": "delete"}."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "sign in to delete your data"}, status=401)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict) or body.get("confirm") != "delete":
        return JsonResponse({"error": 'send {"confirm": "delete"} to delete your rounds'}, status=400)
    deleted = account_data_delete(account_key=player_key(request))
    return JsonResponse({"deleted": {"guesses": deleted.guesses, "seats": deleted.seats, "games": deleted.games}})


@require_GET
def profile_api(request: HttpRequest) -> JsonResponse:
    """This player's profile: a signed-in account's, or this browser session's as a guest."""
    key = player_key(request)
    return JsonResponse(
        {
            "player": key.split(":", 1)[0],
            "name": request.user.get_username() if request.user.is_authenticated else None,
            **player_profile(player_key=key),
        }
    )
