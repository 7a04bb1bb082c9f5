"""Reads for the benchmark: every locked player-round as an export row, and the tables computed from rows.

The stats page, the API and `benchmark_report` all go rows -> columns -> report.benchmark_of_frame, so a report
recomputed from an export file equals the live numbers by construction (and a test checks it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from gameserver.games.models import Game, Guess, Player, Round
from gameserver.games.rules import (
    games_finished,
    guess_exclusion,
    panorama_attribution,
    panorama_licence,
    player_is_account,
    round_closes_at,
    round_model_km,
    rounds_closed,
    seat_name_chosen,
)
from gameserver.games.trust import guess_standings, player_flags_cached
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.stats.frames import frame_of_rows
from gameserver.stats.report import benchmark_of_frame
from gameserver.stats.tiers import set_prior_km, tier_columns
from planet_engine.countries import continent_of_country, country_index
from planet_engine.geo import THRESHOLD_NAMES, geoscore, head_to_head, threshold_outcomes

Row = dict[str, object]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Filters:
    panorama_set: str = ""
    model: str = ""
    mode: str = ""
    games: tuple[str, ...] = ()  # public ids; empty: every game
    since: datetime | None = None
    until: datetime | None = None
    # Count rounds flagged as suspicious (rules.guess_suspicion) too; by default they are left out.
    include_suspicious: bool = False
    # Player keys ("user:<id>", "guest:<session key>"); empty: every player. A profile reads its own rows.
    players: tuple[str, ...] = ()
    # Which tier's tables (TIERS): the verified headline, or every counted round.
    tier: str = "verified"

    def as_dict(self) -> dict[str, str]:
        return {
            "set": self.panorama_set,
            "model": self.model,
            "mode": self.mode,
            "tier": self.tier,
            "suspicious": "include" if self.include_suspicious else "",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "games": ",".join(self.games),
            # Pseudonymous, as in the rows: a datasheet or a cache key never holds a player key.
            "players": ",".join(player_id(key) for key in self.players),
        }


def player_id(key: str) -> str:
    """The pseudonymous id exports and tables use for a player key: the first 16 hex digits of its HMAC-SHA256
    under the deployment's secret. Stable within a deployment; a plain hash of "user:<id>" was reversed by
    counting ids, and without the secret this cannot be."""
    return hmac.new(f"planet-arena player id {settings.SECRET_KEY}".encode(), key.encode(), hashlib.sha256).hexdigest()[
        :16
    ]


def _rounds(filters: Filters) -> QuerySet[Round]:
    """Served rounds of the games the filters name (any state)."""
    rounds = Round.objects.filter(served_at__isnull=False)
    if filters.panorama_set:
        rounds = rounds.filter(game__panorama_set__name=filters.panorama_set)
    if filters.model:
        rounds = rounds.filter(game__model_version__name=filters.model)
    if filters.mode:
        rounds = rounds.filter(game__mode=filters.mode)
    if filters.games:
        rounds = rounds.filter(game__public_id__in=filters.games)
    if filters.players:
        rounds = rounds.filter(game__in=Player.objects.filter(player_key__in=filters.players).values("game_id"))
    return rounds


def _rounds_reported(filters: Filters, now: datetime) -> QuerySet[Round]:
    """Rounds whose rows may be shown: closed, in a finished game (rules.rounds_closed, rules.games_finished)."""
    return _rounds(filters).filter(
        pk__in=rounds_closed(now=now).values("pk"), game__in=games_finished(now=now).values("pk")
    )


def _guesses(filters: Filters) -> QuerySet[Guess]:
    guesses = (
        Guess.objects.select_related(
            "round__game__model_version", "round__game__panorama_set", "round__panorama__panorama_set"
        )
        .filter(round__in=_rounds_reported(filters, timezone.now()).values("pk"))
        .order_by("round__served_at", "round_id", "pk")
    )
    if filters.since:
        guesses = guesses.filter(guessed_at__gte=filters.since)
    if filters.until:
        guesses = guesses.filter(guessed_at__lt=filters.until)
    if filters.players:
        guesses = guesses.filter(player_key__in=filters.players)
    return guesses


def _missing_guesses(filters: Filters) -> list[Guess]:
    """A timeout, unsaved, for every seat of a reported round that never sent a guess: the round closed on
    them. Its model side is what the model had committed by the time the round closed."""
    rounds = list(
        _rounds_reported(filters, timezone.now())
        .annotate(locked=Count("guesses", distinct=True), seats=Count("game__players", distinct=True))
        .filter(locked__lt=F("seats"))
        .select_related("game__model_version", "game__panorama_set", "panorama__panorama_set")
    )
    if not rounds:
        return []
    locked = set(Guess.objects.filter(round__in=rounds).values_list("round_id", "player_key"))
    seats: dict[int, list[str]] = {}
    for game_id, key in Player.objects.filter(game__rounds__in=rounds).values_list("game_id", "player_key").distinct():
        seats.setdefault(game_id, []).append(key)
    missing = []
    for game_round in rounds:
        closed_at = round_closes_at(round=game_round)
        if (filters.since and closed_at < filters.since) or (filters.until and closed_at >= filters.until):
            continue
        ready_at = game_round.model_ready_at
        model_km = round_model_km(round=game_round) if ready_at is not None and ready_at <= closed_at else None
        model_points = None if model_km is None else float(geoscore(model_km))
        for key in sorted(seats.get(game_round.game_id, [])):
            if (game_round.pk, key) in locked or (filters.players and key not in filters.players):
                continue
            streak = game_round.game.goal == Game.Goal.COUNTRY  # a country named, no distance on either side
            missing.append(
                Guess(
                    round=game_round,
                    player_key=key,
                    timed_out=True,
                    km=None,
                    points=0.0,
                    model_km=None if streak else model_km,
                    model_points=None if streak else model_points,
                    model_committed_first=model_km is not None,
                    guessed_at=closed_at,
                )
            )
    return missing


def round_rows(*, filters: Filters = Filters()) -> list[Row]:
    """One export row per seat of a closed round of a finished game (gameserver/stats/columns.py,
    rules.rounds_closed and rules.games_finished): its locked guess, or a timeout where it never guessed;
    oldest first."""
    missing = _missing_guesses(filters)
    absent = {id(g) for g in missing}
    guesses = sorted(
        [*_guesses(filters), *missing],
        key=lambda g: (g.round.served_at, g.round_id, id(g) in absent, g.guessed_at, g.pk or 0),
    )
    seats = list(
        Player.objects.filter(game_id__in={g.round.game_id for g in guesses}).values_list(
            "game_id", "player_key", "name"
        )
    )
    usernames = _usernames({key for _, key, _ in seats})
    # A seat name the player did not choose (the default, or the account's username) is not published.
    names = {
        (game_id, key): name if seat_name_chosen(name=name, player_key=key, username=usernames.get(key)) else ""
        for game_id, key, name in seats
    }
    human = _places([(g.latitude, g.longitude) for g in guesses])
    model = _places([(g.round.model_latitude, g.round.model_longitude) for g in guesses])
    standings = guess_standings(guesses, flags=player_flags_cached())
    prior_km = set_prior_km(guesses)
    anchor = ModelVersion.objects.filter(is_default=True).values_list("name", flat=True).first() or ""
    return [
        {
            **_row(g, names.get((g.round.game_id, g.player_key), ""), human[i], model[i], missing=id(g) in absent),
            **tier_columns(g, standings[i]),
            "rating_anchor": anchor,
            "set_prior_km": prior_km[i],
        }
        for i, g in enumerate(guesses)
    ]


def _usernames(keys: set[str]) -> dict[str, str]:
    """Each account key's ("user:<id>") username."""
    ids = {int(key.split(":", 1)[1]): key for key in keys if player_is_account(key) and key[5:].isdigit()}
    return {ids[pk]: name for pk, name in get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")}


def _places(points: list[tuple[float | None, float | None]]) -> list[tuple[str, str]]:
    """(country, continent) of each point, ('', '') where there is no point; one vectorised lookup."""
    known = [i for i, (lat, lon) in enumerate(points) if lat is not None and lon is not None]
    result = [("", "")] * len(points)
    if known:
        places = country_index().lookup_many(
            np.array([points[i][0] for i in known], dtype=np.float64),
            np.array([points[i][1] for i in known], dtype=np.float64),
        )
        for i, place in zip(known, places, strict=True):
            result[i] = (place.country or "", place.continent or "")
    return result


def _row(
    guess: Guess, name: str, human_place: tuple[str, str], model_place: tuple[str, str], *, missing: bool = False
) -> Row:
    game_round: Round = guess.round
    game, panorama = game_round.game, game_round.panorama
    streak = game.goal == Game.Goal.COUNTRY
    exclusion = guess_exclusion(guess=guess, round=game_round)
    if streak and guess.country:  # the country the player named: a streak guess has no point to look up
        human_place = (guess.country, continent_of_country(guess.country) or "")
    human_km = math.inf if guess.km is None else guess.km
    winners = (
        threshold_outcomes(human_km, guess.model_km)
        if guess.model_km is not None
        else dict.fromkeys(THRESHOLD_NAMES, "")
    )
    served = game_round.served_at
    return {
        "round_id": game_round.public_id,
        "game_id": game.public_id,
        "round_number": game_round.number,
        "player_id": player_id(guess.player_key),
        "player_name": name,
        "panorama_set": game.panorama_set.name,
        "panorama_id": panorama.public_id,
        "panorama_licence": panorama_licence(panorama=panorama),
        "panorama_attribution": panorama_attribution(panorama=panorama),
        "panorama_kind": panorama.kind,
        "truth_latitude": panorama.latitude,
        "truth_longitude": panorama.longitude,
        "truth_country": panorama.country,
        "truth_continent": panorama.continent,
        "view_sha256": game_round.view_sha256,
        "view_heading": game_round.view_heading,
        "mode": game.mode,
        "time_limit_s": game.time_limit_s,
        "human_latitude": guess.latitude,
        "human_longitude": guess.longitude,
        "human_timed_out": guess.timed_out,
        "human_country": human_place[0],
        "human_continent": human_place[1],
        "human_km": guess.km,
        "human_points": guess.points,
        "model_name": game.model_version.name,
        "model_checkpoint_sha256": game_round.model_checkpoint_sha256,
        "model_view": game_round.model_view,
        "model_status": game_round.model_status,
        "model_latitude": game_round.model_latitude,
        "model_longitude": game_round.model_longitude,
        "model_country": model_place[0],
        "model_continent": model_place[1],
        "model_top_cells": json.dumps([[c["token"], round(c["probability"], 6)] for c in game_round.model_top_cells]),
        "model_km": guess.model_km,
        "model_points": guess.model_points,
        "model_committed_first": guess.model_committed_first,
        "near_training_photo": panorama.near_training_photo,
        "seen_before": guess.seen_before,
        "suspicion": guess.suspicion,
        "guess_missing": missing,
        "counted": not exclusion,
        "exclusion": exclusion,
        **{f"winner_{name}": outcome for name, outcome in winners.items()},
        "head_to_head": head_to_head(human_km, guess.model_km) if guess.model_km is not None else "",
        "served_at": served.isoformat() if served else None,
        "model_ready_at": game_round.model_ready_at.isoformat() if game_round.model_ready_at else None,
        "guessed_at": guess.guessed_at.isoformat(),
        "time_taken_s": (guess.guessed_at - served).total_seconds() if served else None,
    }


def benchmark_from_rows(
    *,
    rows: list[Row],
    seed: int = 0,
    resamples: int = 1000,
    include_suspicious: bool = False,
    anchor_model: str | None = None,
    tier: str = "open",
) -> dict[str, object]:
    """Every benchmark table of one tier's rows (report.benchmark_of_frame over the rows as columns)."""
    return benchmark_of_frame(
        frame_of_rows(rows),
        seed=seed,
        resamples=resamples,
        include_suspicious=include_suspicious,
        anchor_model=anchor_model,
        tier=tier,
    )


# The tables change only when a game finishes (its rounds' guesses enter the rows at once) or the leak check
# flags panoramas: a locked guess never changes. Keyed on both, the cache is never stale; the timeout only
# bounds memory.
BENCHMARK_CACHE_SECONDS = 3600


def _benchmark_live(filters: Filters) -> dict[str, object]:
    return benchmark_from_rows(
        rows=round_rows(filters=filters), include_suspicious=filters.include_suspicious, tier=filters.tier
    )


def rounds_open(*, filters: Filters = Filters()) -> dict[str, int]:
    """What is not in the tables yet, reported as open: served rounds not yet closed or in a game still being
    played. Counts of rounds only: a guess never changes them (a serve and a finished game do)."""
    waiting = _rounds(filters).exclude(pk__in=_rounds_reported(filters, timezone.now()).values("pk"))
    counts = waiting.aggregate(rounds=Count("pk"), games=Count("game", distinct=True))
    return {"rounds": counts["rounds"], "games": counts["games"]}


def benchmark_cached(*, filters: Filters = Filters()) -> dict[str, object]:
    """benchmark_from_rows(round_rows(filters)), recomputed only after a game finishes or leak flags change."""
    guesses = _guesses(filters).order_by().aggregate(count=Count("pk"), last=Max("pk"))
    # What else moves a row's tier or exclusion: leak flags and retirements, a set's provenance or budget.
    panoramas = Panorama.objects.aggregate(
        flagged=Count("pk", filter=Q(near_training_photo=True)), retired=Count("pk", filter=Q(retired=True))
    )
    sets = list(PanoramaSet.objects.order_by("pk").values_list("pk", "provenance", "exposure_budget"))
    state = json.dumps([filters.as_dict(), guesses["count"], guesses["last"], panoramas, sets], sort_keys=True)
    key = "stats:benchmark:" + hashlib.sha256(state.encode()).hexdigest()
    try:
        tables = cache.get(key)
    except Exception:  # the cache cannot be reached (Redis restarting): compute, as if it were a miss
        logger.warning("benchmark cache unavailable; computing the tables", exc_info=True)
        return {**_benchmark_live(filters), "open": rounds_open(filters=filters)}
    if tables is None:
        tables = _benchmark_live(filters)
        try:
            cache.set(key, tables, BENCHMARK_CACHE_SECONDS)
        except Exception:  # the cache went away between get and set: the tables are still right
            logger.warning("benchmark cache unavailable; tables not cached", exc_info=True)
    return {**tables, "open": rounds_open(filters=filters)}
