"""The JSON API the browser uses: parse, call one service or selector, return. Players are sessions."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps

from django.http import FileResponse, HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from gameserver.games import daily, guessing, openapi, selectors, services
from gameserver.games.client_address import client_address
from gameserver.games.errors import GameError, GameStarted, NotAPlayer, NotFound, WaitForHost
from gameserver.games.models import Game
from gameserver.games.rules import round_view_key
from gameserver.games.throttle import RateLimited, rate_limit_hit
from gameserver.games.trust import address_key
from gameserver.games.unstorable_text import text_unstorable
from gameserver.objectstore import object_open

View = Callable[..., HttpResponseBase]
BROWSER_KEY = "arena_browser"


def api(view: View) -> View:
    """GameError -> a JSON error with status 400 (404 for unknown ids, 403 for outsiders). Only GameError's
    message reaches the player: any other exception is a server error, not a message."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            return JsonResponse({"error": str(error)}, status=404)
        except NotAPlayer as error:
            return JsonResponse({"error": str(error)}, status=403)
        except GameStarted as error:
            return JsonResponse({"error": str(error), "offer": error.offer}, status=409)
        except WaitForHost as error:
            return JsonResponse({"error": str(error), "wait_for_host": True}, status=409)
        except GameError as error:
            return JsonResponse({"error": str(error)}, status=400)
        except RateLimited as error:  # a limit only a service can check (a round's first serve)
            return too_many_requests(error)

    return wrapped


def too_many_requests(error: RateLimited) -> JsonResponse:
    response = JsonResponse({"error": str(error)}, status=429)
    response["Retry-After"] = str(error.retry_after_s)
    return response


def rate_limited(scope: str, *, by: Callable[[HttpRequest], str]) -> Callable[[View], View]:
    """429 with Retry-After once the client `by` names has spent its allowance in `scope`; nothing is written."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            try:
                rate_limit_hit(scope=scope, key=by(request))
            except RateLimited as error:
                return too_many_requests(error)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def player_key(request: HttpRequest) -> str:
    """A signed-in account plays as itself on every device; a guest is its session."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    if request.session.session_key is None:
        request.session.save()
    return f"guest:{request.session.session_key}"


def guest_address(request: HttpRequest) -> str:
    """A guest's keyed address, which their exposures carry (drawing.exposures_of): a fresh cookie jar at the
    same address has still seen what the last one was shown. "" for an account, whose exposures follow it."""
    return "" if request.user.is_authenticated else address_key(client_address(request))


def browser_key(request: HttpRequest) -> str:
    """A random id kept in the session's data: it survives signing in (which changes the session key), so one
    browser holds at most one seat of a game and its exposures follow it into an account."""
    key = request.session.get(BROWSER_KEY)
    if not isinstance(key, str):
        key = secrets.token_urlsafe(16)
        request.session[BROWSER_KEY] = key
    return key


def player_name(request: HttpRequest, body: dict[str, object]) -> str:
    name = body.get("name")
    if name is None:
        return request.user.get_username() if request.user.is_authenticated else ""
    if not isinstance(name, str):
        raise GameError("name must be a string")
    return name


def json_body(request: HttpRequest) -> dict[str, object]:
    try:
        body = json.loads(request.body or b"{}")
    # ValueError: bad JSON or text, or an integer of more than 4300 digits; RecursionError: [[[[...]]]].
    except (ValueError, RecursionError):
        raise GameError("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise GameError("the request body must be a JSON object")
    if text_unstorable(body):
        raise GameError("the request body holds a NUL character or a lone surrogate")
    return body


def number(body: dict[str, object], name: str, *, integer: bool = False, required: bool = True) -> float | None:
    value = body.get(name)
    if value is None:
        if required:
            raise GameError(f"{name} is required")
        return None
    # Compared, not math.isfinite(): that raises OverflowError on a JSON integer past a float's range.
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and abs(value) <= sys.float_info.max):
        raise GameError(f"{name} must be a finite number")
    if integer and int(value) != value:
        raise GameError(f"{name} must be a whole number")
    return value


@require_GET
@ensure_csrf_cookie
def session(request: HttpRequest) -> JsonResponse:
    """Starts a guest session (or names the signed-in account) and sets the CSRF cookie POSTs need."""
    key = player_key(request)
    return JsonResponse(
        {"player": key.split(":", 1)[0], "name": request.user.get_username() if request.user.is_authenticated else None}
    )


@require_GET
def schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.schema())


@require_GET
def catalogue(request: HttpRequest) -> JsonResponse:
    """What a game can be made of: the panorama sets and the model versions to play against, and the countries a
    country streak's guess may name."""
    return JsonResponse(
        {
            "sets": selectors.panorama_set_list(staff=request.user.is_staff),
            "models": selectors.model_version_list(),
            "countries": selectors.country_list(),
        }
    )


@require_POST
@rate_limited("games", by=client_address)
@api
def game_create(request: HttpRequest) -> JsonResponse:
    body = json_body(request)
    panorama_set = selectors.panorama_set_get(name=str(body.get("set", "")), staff=request.user.is_staff)
    model = body.get("model")
    time_limit = number(body, "time_limit_s", integer=True, required=False)
    rounds = number(body, "rounds", integer=True, required=False)
    game = services.game_create(
        panorama_set=panorama_set,
        owner_key=player_key(request),
        owner_name=player_name(request, body),
        owner_browser=browser_key(request),
        owner_address=guest_address(request),
        rounds=5 if rounds is None else int(rounds),
        time_limit_s=None if time_limit is None else int(time_limit),
        mode=str(body.get("mode", "move")),
        model_version=None if model is None else selectors.model_version_get(name=str(model)),
        goal=str(body.get("goal", "distance")),
    )
    return JsonResponse(selectors.game_summary(game=game, player_key=player_key(request)), status=201)


@require_POST
@rate_limited("games", by=client_address)
@api
def game_join(request: HttpRequest, game_id: str) -> JsonResponse:
    game = selectors.game_get(public_id=game_id)
    services.game_join(
        game=game,
        player_key=player_key(request),
        browser_key=browser_key(request),
        name=player_name(request, json_body(request)),
    )
    return JsonResponse(selectors.game_summary(game=game, player_key=player_key(request)))


@require_POST
@api
def daily_play(request: HttpRequest) -> JsonResponse:
    # Coming back to one's try is free; only a new try spends the address's allowance of new games.
    game = daily.daily_try(player_key=player_key(request), browser_key=browser_key(request))
    if game is None:
        try:
            rate_limit_hit(scope="games", key=client_address(request))
        except RateLimited as error:
            return too_many_requests(error)
        game = daily.daily_game(
            player_key=player_key(request),
            browser_key=browser_key(request),
            name=player_name(request, json_body(request)),
        )
    return JsonResponse(selectors.game_summary(game=game, player_key=player_key(request)))


@require_GET
@api
def daily_leaderboard(request: HttpRequest) -> JsonResponse:
    try:
        day = date.fromisoformat(request.GET["day"]) if "day" in request.GET else daily.daily_today()
    except ValueError:
        raise GameError("day must be a date like 2026-12-01") from None
    return JsonResponse(
        {
            "day": day.isoformat(),
            "leaderboard": selectors.daily_leaderboard(day=day),
            "you": selectors.daily_standing(day=day, player_key=player_key(request)),
        }
    )


@require_POST
@rate_limited("games", by=client_address)
@api
def game_rematch(request: HttpRequest, game_id: str) -> JsonResponse:
    game = selectors.game_get(public_id=game_id)
    rematch = services.game_rematch(
        game=game,
        player_key=player_key(request),
        browser_key=browser_key(request),
        name=player_name(request, json_body(request)),
    )
    return JsonResponse(selectors.game_summary(game=rematch, player_key=player_key(request)))


@require_GET
@api
def game_detail(request: HttpRequest, game_id: str) -> JsonResponse:
    game = selectors.game_get(public_id=game_id)
    return JsonResponse(selectors.game_summary(game=game, player_key=player_key(request)))


@require_POST
@rate_limited("round_starts", by=client_address)
@api
def round_start(request: HttpRequest, game_id: str, number: int) -> JsonResponse:
    game = selectors.game_get(public_id=game_id)
    game_round = services.round_serve(
        round=selectors.game_round_get(game=game, number=number),
        player_key=player_key(request),
        address=client_address(request),
    )
    return JsonResponse(selectors.round_view(round=game_round))


@require_GET
@api
def round_image(request: HttpRequest, round_id: str) -> FileResponse:
    game_round = selectors.round_get(public_id=round_id)
    if game_round.served_at is None:
        raise NotFound("no such round")
    selectors.player_require(game=game_round.game, player_key=player_key(request))
    return jpeg_response(round_view_key(round=game_round))


@require_GET
@api
def round_view_image(request: HttpRequest, round_id: str, number: int) -> FileResponse:
    game_round = selectors.round_get(public_id=round_id)
    if game_round.served_at is None:
        raise NotFound("no such round")
    selectors.player_require(game=game_round.game, player_key=player_key(request))
    return jpeg_response(selectors.round_view_file(round=game_round, number=number))


def jpeg_response(key: str) -> FileResponse:
    """A stored image, streamed through this server to the player it is for (the object store is never public).
    No file name: the stored name is nobody's business (and was once a panorama's stable id)."""
    response = FileResponse(object_open(key=key), content_type="image/jpeg")
    response.headers.pop("Content-Disposition", None)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@api
def round_detail(request: HttpRequest, round_id: str) -> JsonResponse:
    game_round = selectors.round_get(public_id=round_id)
    selectors.player_require(game=game_round.game, player_key=player_key(request))
    guess = selectors.guess_for(round=game_round, player_key=player_key(request))
    if guess is None:
        return JsonResponse({**selectors.round_view(round=game_round), "locked": False})
    shown = guessing.round_outcome_show(
        round=game_round, guess=guess, browser_key=browser_key(request), address_key=guest_address(request)
    )
    return JsonResponse({**shown, "locked": True})


@require_POST
@rate_limited("guesses", by=player_key)
@api
def guess_create(request: HttpRequest, round_id: str) -> JsonResponse:
    body = json_body(request)
    game_round = selectors.round_get(public_id=round_id)
    timed_out = body.get("timed_out") is True
    # A country streak's round takes {"country": "FR"}; the service refuses a point there, a country elsewhere.
    country = body.get("country")
    if country is not None and not isinstance(country, str):
        raise GameError("country must be a string: an ISO 3166-1 alpha-2 code such as FR")
    point = game_round.game.goal == Game.Goal.DISTANCE and country is None
    result = guessing.guess_submit(
        round=game_round,
        player_key=player_key(request),
        timed_out=timed_out,
        latitude=None if timed_out else number(body, "latitude", required=point),
        longitude=None if timed_out else number(body, "longitude", required=point),
        browser_key=browser_key(request),
        country=country,
        address_key=guest_address(request),
    )
    return JsonResponse(
        {**result.shown, "locked": True, "repeated": not result.created}, status=201 if result.created else 200
    )
