"""The rules of a round, in one place: when it closes, which view (or views of a place) it serves, how its points
are shown, whose licence it carries, whether a country-streak guess is right and whether it counts in the
benchmark. Services, selectors, the inference
worker and the stats all read these; this module reads only models and storage, so it can sit under all of them."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from gameserver.games.models import Game, Guess, Round, RoundView
from gameserver.panoramas.models import Panorama, PanoramaSet, PanoramaView
from gameserver.panoramas.perspective import panorama_fixed_view_key
from gameserver.panoramas.storage import panorama_image_key, served_view_key
from planet_engine.countries import country_index
from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM, distance_km

# A guess sent a moment after the deadline (network latency) still counts as sent in time.
DEADLINE_GRACE = timedelta(seconds=2)
# A round with no time limit closes this long after it was served: its truth may then enter the benchmark and
# its exports, so a guess arriving later counts as a timeout (no one can guess with the answer in hand).
ROUND_OPEN_MAX = timedelta(hours=24)
# A game left unfinished (rounds never played) counts in the public tables this long after it was created.
GAME_OPEN_MAX = timedelta(hours=48)
# Guesses no honest human produces: nearly exact within seconds, or a run of nearly exact guesses.
SUSPICIOUS_EXACT_KM = 0.1
SUSPICIOUS_FAST_S = 10.0
SUSPICIOUS_RUN_KM = 1.0
SUSPICIOUS_RUN = 3  # this many guesses under SUSPICIOUS_RUN_KM among a player's last SUSPICIOUS_RUN_OF
SUSPICIOUS_RUN_OF = 5
# The radii the reveal and the benchmark judge at, as the API sends them (the browser never hard-codes them).
THRESHOLDS: list[dict[str, object]] = [
    {"name": name, "km": km} for name, km in zip(THRESHOLD_NAMES, THRESHOLDS_KM, strict=True)
]


def round_closes_at(*, round: Round) -> datetime:
    """When a served round stops taking guesses: its deadline (and grace), else ROUND_OPEN_MAX after serving."""
    if round.deadline:
        return round.deadline + DEADLINE_GRACE
    assert round.served_at is not None, "an unserved round has no closing time"
    return round.served_at + ROUND_OPEN_MAX


def rounds_closed(*, now: datetime) -> QuerySet[Round]:
    """round_closes_at as a query, plus rounds every seat has locked: rounds whose truth no player can still
    use. Only these may be shown beyond a player's own reveal (benchmark tables, exports): a room's opponent
    may not have guessed yet."""
    return (
        Round.objects.filter(served_at__isnull=False)
        .annotate(locked=Count("guesses", distinct=True), seats=Count("game__players", distinct=True))
        .filter(
            Q(locked__gte=F("seats"))
            | Q(deadline__lt=now - DEADLINE_GRACE)
            | Q(deadline__isnull=True, served_at__lt=now - ROUND_OPEN_MAX)
        )
    )


def round_revealed(*, round: Round, seats: int, locked: int, now: datetime) -> bool:
    """Whether a round's truth, the model's guess and every seat's guess may be shown (to the seats that have
    locked): once every seat has locked, or once the round stopped taking guesses. Until then a room knows only
    who has guessed, so no seat learns anything another seat could still use."""
    return round.served_at is not None and (locked >= seats or now > round_closes_at(round=round))


def round_first_serve_allowed(*, game: Game, seats: int, player_key: str) -> bool:
    """Who may serve a round first (start its clock): anyone in a solo game; in a room only the host (the seat that
    made the game), so the room moves from round to round together, as a party game does. Everyone may fetch a
    round once it is served."""
    return seats <= 1 or player_key == game.owner_key


def games_finished(*, now: datetime) -> QuerySet[Game]:
    """Games whose every round is closed (rounds_closed), or that were abandoned GAME_OPEN_MAX ago. Only their
    rounds enter the public tables and the exports, so those change when a game finishes, never on a join or
    a guess in a game still being played."""
    still_open = Round.objects.filter(game=OuterRef("pk")).exclude(pk__in=rounds_closed(now=now).values("pk"))
    return Game.objects.filter(~Exists(still_open) | Q(created_at__lt=now - GAME_OPEN_MAX))


def compass_point(heading: float | None) -> float | None:
    """The compass point (a multiple of 45°: N, NE, E, ...) nearest a view's heading: what a player is told
    about the way a view faces before guessing. An exact heading would be a key into a public set (71 of
    panoramax-multiview's 100 places have headings no other place shares); eight points tell no more than the
    sun and shadows do, and a point holds about an eighth of any set."""
    return None if heading is None else float(45 * (round(heading / 45) % 8))


def round_fixed_view(*, round: Round) -> bool:
    """A panorama in a no-move-pan-zoom game is served as the flat render of its opening view."""
    return round.panorama.kind == Panorama.Kind.EQUIRECTANGULAR and round.game.mode == Game.Mode.NMPZ


def round_view_key(*, round: Round) -> str:
    """The stored key of the exact image a served round shows players and the model: its own encoding
    (serving.py)."""
    if round.view_name:
        return served_view_key(name=round.view_name)
    return round_view_source(round=round)


def round_view_source(*, round: Round) -> str:
    """The stored image a round's view is encoded from: the panorama, or the flat render of its opening view."""
    if round_fixed_view(round=round):
        return panorama_fixed_view_key(panorama=round.panorama, heading_deg=round.view_heading or 0.0)
    return panorama_image_key(panorama=round.panorama)


def round_views_to_serve(*, round: Round) -> list[PanoramaView]:
    """The views of a multi-view place a round serves: every one when the player may move (they look around),
    the first alone in no-move and NMPZ (they stand still, facing one way)."""
    views = list(round.panorama.views.order_by("index"))
    return views if round.game.mode == Game.Mode.MOVE else views[:1]


def round_view_keys(*, rounds: Sequence[Round]) -> list[list[str]]:
    """The exact images each served round showed its players, in order: what the model guesses from. One
    query for the multi-view rounds among them (their panoramas selected with them)."""
    several = [r.pk for r in rounds if r.panorama.kind == Panorama.Kind.MULTIVIEW]
    served: dict[int, list[str]] = {}
    if several:
        for view in RoundView.objects.filter(round_id__in=several).order_by("round_id", "number"):
            served.setdefault(view.round_id, []).append(served_view_key(name=view.view_name))
    return [served.get(r.pk) or [round_view_key(round=r)] for r in rounds]


def round_model_point(*, round: Round) -> tuple[float, float] | None:
    """The model's guess on the round, once it is committed."""
    if round.model_status != Round.ModelStatus.READY or round.model_latitude is None or round.model_longitude is None:
        return None
    return round.model_latitude, round.model_longitude


def round_model_km(*, round: Round) -> float | None:
    """The great-circle error of the model's committed guess on the round, or None before it answered."""
    point = round_model_point(round=round)
    return None if point is None else distance_km(*point, round.panorama.latitude, round.panorama.longitude)


def round_model_country(*, round: Round) -> str | None:
    """The country of the model's committed point guess (offline reverse geocoding, the same Natural Earth
    polygons the map draws; a point at sea takes the nearest country within 200 km), or None: no guess yet, or
    far out at sea. A country streak judges the model by it."""
    point = round_model_point(round=round)
    return None if point is None else country_index().lookup(*point).country


def guess_country_right(*, guess: Guess, panorama: Panorama) -> bool:
    """A country-streak guess is right when it names the panorama's country; a timeout never is."""
    return not guess.timed_out and bool(guess.country) and guess.country == panorama.country


def streak_length(rights: Sequence[bool]) -> int:
    """How many rounds from the start were right in a row: a streak ends at its first miss."""
    length = 0
    for right in rights:
        if not right:
            break
        length += 1
    return length


def round_points(points: float) -> int:
    """Points as shown: half up, as GeoGuessr shows them (the builtin round() is half-to-even)."""
    return int(math.floor(points + 0.5))


def panorama_licence(*, panorama: Panorama) -> str:
    """The panorama's own licence, else its set's."""
    return panorama.licence or panorama.panorama_set.licence


def panorama_attribution(*, panorama: Panorama) -> str:
    return panorama.attribution or panorama.panorama_set.attribution


def guess_suspicion(*, km: float | None, seconds: float, recent_exact: int) -> str:
    """Why no honest human would produce a guess `km` off after `seconds`, given how many of the player's
    previous SUSPICIOUS_RUN_OF - 1 guesses were under SUSPICIOUS_RUN_KM, or "" when it looks human."""
    if km is None:
        return ""
    if km < SUSPICIOUS_EXACT_KM and seconds < SUSPICIOUS_FAST_S:
        return "exact_and_fast"
    if km < SUSPICIOUS_RUN_KM and 1 + recent_exact >= SUSPICIOUS_RUN:
        return "run_of_exact"
    return ""


def guess_exclusion(*, guess: Guess, round: Round, disclose: bool = True) -> str:
    """Why a locked player-round is left out of the benchmark, or "" when it counts. In this order: a country
    streak's round (it names a country, no point: there is no distance to put in the tables), the model
    answered late, the place is near a training photo, the player had seen the truth before, a daily challenge's
    round (its answers can be passed around for a day), the guess is suspicious (the tables can include those
    on request). `disclose=False` (the player's own reveal) leaves out what would tell a cheater they were
    caught: the suspicion."""
    panorama = round.panorama
    if round.game.goal == Game.Goal.COUNTRY:
        return "country_streak"
    if not guess.model_committed_first:
        return "model_not_committed"
    if panorama.near_training_photo:
        return "near_training_photo"
    if guess.seen_before:
        return "seen_before"
    if round.game.daily is not None:
        return "daily_challenge"
    if guess.suspicion and disclose:
        return "suspicious"
    return ""


def default_seat_name(player_key: str) -> str:
    """The name a seat gets when the player typed none (services): it tells the room nothing of the player's key
    (a guest's session key)."""
    return f"guest-{hashlib.sha256(player_key.encode()).hexdigest()[:4]}"


def seat_name_chosen(*, name: str, player_key: str, username: str | None) -> bool:
    """The player chose this seat name: it is neither the default one nor their account's username (which the
    seat takes when a signed-in player types nothing). Only a chosen name is shown in public tables."""
    return bool(name) and name != default_seat_name(player_key) and name != username


def player_is_account(player_key: str) -> bool:
    """A signed-in account's key ("user:<id>", views.player_key), not a guest's session: only accounts can be
    established, ranked on the daily board or verified."""
    return player_key.startswith("user:")


def account_pk(player_key: str) -> int | None:
    """The account's primary key in a signed-in player's key ("user:<id>"); None for a guest."""
    number = player_key.removeprefix("user:")
    return int(number) if player_is_account(player_key) and number.isdigit() else None


@dataclass(frozen=True)
class Standing:
    """What the verified tier knows of a guess beyond the guess itself (games/trust.py gathers it)."""

    # The account had the history verified rounds need (PLANET_VERIFIED_MIN_ROUNDS on PLANET_VERIFIED_MIN_DAYS
    # days) when it guessed; always False for a guest.
    established: bool
    # How many other identities the panorama's truth had been revealed to before the guess was locked.
    exposures_before: int = 0
    # One of them was an identity the verified tier does not trust (a guest, an account without the history, a
    # flagged player): what it saw may have been harvested to be replayed.
    exposed_to_unverified: bool = False
    # The anomaly model's flags on the player (trust.player_flags): "too_good", "no_effort".
    player_flags: tuple[str, ...] = ()


def guess_tier(*, guess: Guess, round: Round, standing: Standing, disclose: bool = True) -> tuple[str, tuple[str, ...]]:
    """The benchmark tier of a locked player-round and why: ("excluded", (exclusion,)) when it does not count
    (guess_exclusion); ("open", reasons) when it counts but one of the reasons below applies, in their order;
    ("verified", ()) when none does. Verified rounds come from an established account, on a private set, on a
    panorama not retired whose truth was shown to at most the set's budget of other identities, all of them
    trusted, by a player the anomaly model does not flag. `disclose=False` (the player's own reveal) leaves out
    the flags."""
    exclusion = guess_exclusion(guess=guess, round=round, disclose=disclose)
    if exclusion:
        return "excluded", (exclusion,)
    panorama = round.panorama
    reasons = []
    if not player_is_account(guess.player_key):
        reasons.append("guest")
    elif not standing.established:
        reasons.append("account_not_established")
    if panorama.panorama_set.provenance != PanoramaSet.Provenance.PRIVATE:
        reasons.append("public_set")
    if panorama.retired:
        reasons.append("panorama_retired")
    if standing.exposures_before > panorama.panorama_set.exposure_budget:
        reasons.append("exposure_budget_spent")
    if standing.exposed_to_unverified:
        reasons.append("exposed_to_unverified")
    if standing.player_flags and disclose:
        reasons.append("flagged_player")
    return ("open" if reasons else "verified"), tuple(reasons)
