"""What the verified tier knows of players beyond a single guess (rules.guess_tier decides with it): whether an
account had an established history when it guessed, who a panorama's truth had been revealed to before a round,
and the anomaly model that flags players, not single guesses.

The anomaly model compares each of a player's guesses with the population's on the same set: the other
players' errors there and the model's (which every round has, so a set with few players still has a reference).
A player is flagged `too_good` when, over at least FLAG_MIN_ROUNDS rounds, the median share of the reference
doing better is at most TOO_GOOD_SHARE (most of their guesses beat nearly everyone: a lookup, or a replayed
answer), and `no_effort` when at least NO_EFFORT_SHARE of their rounds are timeouts, instant or near-antipodal
guesses, or their median share of the reference doing worse is at most TOO_BAD_SHARE (deliberate losses), or
their guesses on a set stay near its prior (median distance under FIXED_GUESS_SHARE of the set's spread: one
fixed guess, made without looking).
The limits were calibrated on simulated honest players with a wide spread of skills (bench/trust.py; its
false-positive and detection rates are in bench/README.md). Flags are never shown to the player; staff see them in the
admin, researchers in the export."""

from __future__ import annotations

import hashlib
import hmac
import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max

from gameserver.games.models import Exposure, Game, Guess
from gameserver.games.rules import Standing, player_is_account
from planet_engine.geo import distances_km

logger = logging.getLogger(__name__)
FLAG_MIN_ROUNDS = 10
MODEL = "\x00model"  # the model's errors in a reference: no player key looks like it
REFERENCE_MIN = 20  # a guess is judged against at least this many others' errors on its set
TOO_GOOD_SHARE = 0.02
TOO_BAD_SHARE = 0.02
NO_EFFORT_SHARE = 0.4
INSTANT_S = 3.0
ANTIPODAL_KM = 15000.0
REFIT_PASSES = 5
FIXED_GUESS_SHARE = 0.2  # of the set's spread: the median distance of a player's guesses from the set prior


def address_key(address: str) -> str:
    """A guest's address as exposures keep it: keyed with the secret, so the table holds no address."""
    return hmac.new(settings.SECRET_KEY.encode(), f"address {address}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class PlayerRound:
    """One distance round of a player, as the anomaly model reads it."""

    player: str
    panorama_set: int
    km: float | None  # None: a timeout
    model_km: float | None
    seconds: float
    # The guess's distance from its set's prior, and the set's spread (None: not measured): a player who always
    # guesses near the set prior answers without looking.
    prior_km: float | None = None
    spread_km: float | None = None


def player_flags_of(rounds: Sequence[PlayerRound]) -> dict[str, tuple[str, ...]]:
    """The anomaly model's flags per player over `rounds` (all of every player's distance rounds). Colluding
    cheaters would shield each other inside the reference, so the model is refitted with the flagged players
    left out of it until the flags stop changing (a few passes)."""
    flags: dict[str, tuple[str, ...]] = {}
    for _ in range(REFIT_PASSES):
        refitted = _flags_pass(rounds, left_out=set(flags))
        if refitted == flags:
            break
        flags = refitted
    return flags


def _flags_pass(rounds: Sequence[PlayerRound], *, left_out: set[str]) -> dict[str, tuple[str, ...]]:
    errors: dict[int, list[tuple[str, float]]] = defaultdict(list)  # set -> (who, km): players' and the model's
    for item in rounds:
        if item.km is not None and item.player not in left_out:
            errors[item.panorama_set].append((item.player, item.km))
        if item.model_km is not None:
            errors[item.panorama_set].append((MODEL, item.model_km))
    references = {key: _Reference(values) for key, values in errors.items()}
    better: dict[str, list[float]] = defaultdict(list)
    worse: dict[str, list[float]] = defaultdict(list)
    no_effort: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    near_prior: dict[tuple[str, int], list[float]] = defaultdict(list)  # (player, set) -> prior km / spread
    for item in rounds:
        count[item.player] += 1
        if item.prior_km is not None and item.spread_km:
            near_prior[(item.player, item.panorama_set)].append(item.prior_km / item.spread_km)
        lazy = item.km is None or item.seconds < INSTANT_S or item.km > ANTIPODAL_KM
        no_effort[item.player] += lazy
        if item.km is None:
            worse[item.player].append(0.0)
            continue
        shares = (
            references[item.panorama_set].shares(player=item.player, km=item.km)
            if item.panorama_set in references
            else None
        )
        if shares is not None:
            better[item.player].append(shares[0])
            worse[item.player].append(shares[1])
    fixed = {
        player
        for (player, _), shares in near_prior.items()
        if len(shares) >= FLAG_MIN_ROUNDS and float(np.median(shares)) < FIXED_GUESS_SHARE
    }
    flags: dict[str, tuple[str, ...]] = {}
    for player, n in count.items():
        found = []
        if len(better[player]) >= FLAG_MIN_ROUNDS and float(np.median(better[player])) <= TOO_GOOD_SHARE:
            found.append("too_good")
        if (
            player in fixed
            or n >= FLAG_MIN_ROUNDS
            and (
                no_effort[player] / n >= NO_EFFORT_SHARE
                or (len(worse[player]) >= FLAG_MIN_ROUNDS and float(np.median(worse[player])) <= TOO_BAD_SHARE)
            )
        ):
            found.append("no_effort")
        if found:
            flags[player] = tuple(found)
    return flags


class _Reference:
    """A set's errors, sorted: the players' (each player's own apart, so a player is judged against the others
    only) and the model's, which fill in only while the others are fewer than REFERENCE_MIN (a model far better
    or worse than people would make every human look worse or better than the population)."""

    def __init__(self, values: list[tuple[str, float]]) -> None:
        own: dict[str, list[float]] = defaultdict(list)
        for who, km in values:
            own[who].append(km)
        model = np.array(own.pop(MODEL, []), dtype=np.float64)
        self.players = np.sort(np.array([km for who, km in values if who != MODEL], dtype=np.float64))
        self.own = {who: np.sort(np.array(kms, dtype=np.float64)) for who, kms in own.items()}
        self.with_model = np.sort(np.concatenate([self.players, model]))

    def shares(self, *, player: str, km: float) -> tuple[float, float] | None:
        """(share of the others' errors below km, share above), ties counted half; None when the others and
        the model together are fewer than REFERENCE_MIN."""
        own = self.own.get(player, np.empty(0))
        reference = self.players if self.players.size - own.size >= REFERENCE_MIN else self.with_model
        n = reference.size - own.size
        if n < REFERENCE_MIN:
            return None
        below = _count(reference, km, "left") - _count(own, km, "left")
        not_above = _count(reference, km, "right") - _count(own, km, "right")
        ties = not_above - below
        return (below + 0.5 * ties) / n, (n - not_above + 0.5 * ties) / n


def _count(values: np.ndarray, km: float, side: str) -> int:
    return int(np.searchsorted(values, km, side=side))  # type: ignore[call-overload]


def player_flags() -> dict[str, tuple[str, ...]]:
    """The anomaly model's flags over every distance round played so far (player key -> flags)."""
    rows = list(
        Guess.objects.filter(round__game__goal=Game.Goal.DISTANCE, round__served_at__isnull=False).values_list(
            "player_key",
            "round__game__panorama_set_id",
            "km",
            "model_km",
            "timed_out",
            "guessed_at",
            "round__served_at",
            "latitude",
            "longitude",
            "round__game__panorama_set__prior_latitude",
            "round__game__panorama_set__prior_longitude",
            "round__game__panorama_set__spread_km",
        )
    )
    placed = [i for i, row in enumerate(rows) if row[7] is not None and row[9] is not None]
    prior_km: dict[int, float] = {}
    if placed:
        km = distances_km(*(np.array([rows[i][column] for i in placed], dtype=np.float64) for column in (7, 8, 9, 10)))
        prior_km = dict(zip(placed, km.tolist(), strict=True))
    return player_flags_of(
        [
            PlayerRound(
                player=key,
                panorama_set=set_id,
                km=None if timed_out else km,
                model_km=model_km,
                seconds=(guessed - served).total_seconds(),
                prior_km=prior_km.get(i),
                spread_km=spread,
            )
            for i, (key, set_id, km, model_km, timed_out, guessed, served, *_, spread) in enumerate(rows)
            if served is not None
        ]
    )


FLAGS_CACHE_SECONDS = 600


def player_flags_cached() -> dict[str, tuple[str, ...]]:
    """player_flags, recomputed when a guess was locked since (keyed on the guesses' count and newest id)."""
    state = Guess.objects.aggregate(count=Count("pk"), last=Max("pk"))
    key = f"trust:flags:{state['count']}:{state['last']}"
    try:
        flags = cache.get(key)
    except Exception:  # the cache cannot be reached (Redis restarting): compute, as if it were a miss
        logger.warning("flags cache unavailable; computing the flags", exc_info=True)
        return player_flags()
    if flags is None:
        flags = player_flags()
        try:
            cache.set(key, flags, FLAGS_CACHE_SECONDS)
        except Exception:
            logger.warning("flags cache unavailable; flags not cached", exc_info=True)
    return dict(flags)


class AccountHistories:
    """Each account's locked guesses (not timeouts), oldest first: whether it was established at a moment."""

    def __init__(self, keys: Iterable[str]) -> None:
        accounts = sorted({key for key in keys if player_is_account(key)})
        times: dict[str, list[datetime]] = defaultdict(list)
        for key, at in (
            Guess.objects.filter(player_key__in=accounts, timed_out=False)
            .order_by("guessed_at")
            .values_list("player_key", "guessed_at")
        ):
            times[key].append(at)
        self.times = dict(times)
        self.days = {key: sorted({at.date() for at in ats}) for key, ats in times.items()}

    def established(self, key: str, at: datetime) -> bool:
        if not player_is_account(key):
            return False
        before = bisect_left(self.times.get(key, []), at)
        days = bisect_left(self.days.get(key, []), at.date())
        return before >= settings.PLANET_VERIFIED_MIN_ROUNDS and days >= settings.PLANET_VERIFIED_MIN_DAYS


def guess_standings(guesses: Sequence[Guess], *, flags: dict[str, tuple[str, ...]] | None = None) -> list[Standing]:
    """rules.Standing of each guess (their rounds and panoramas loaded): a few queries for any number."""
    flags = player_flags() if flags is None else flags
    panoramas = {g.round.panorama_id for g in guesses}
    # panorama -> (when, to whom, in which round), oldest first. A round's own exposures are recorded as its seats
    # lock, before its reveal: they could not have helped another seat of that round.
    shown: dict[int, list[tuple[datetime, str, int]]] = defaultdict(list)
    for panorama, key, at, round_id in (
        Exposure.objects.filter(panorama_id__in=panoramas)
        .order_by("revealed_at")
        .values_list("panorama_id", "player_key", "revealed_at", "round_id")
    ):
        shown[panorama].append((at, key, round_id))
    histories = AccountHistories(
        [g.player_key for g in guesses] + [key for seen in shown.values() for _, key, _ in seen]
    )
    standings = []
    for guess in guesses:
        # Truths revealed before this guess was locked could have been passed to the player in time.
        seen = shown.get(guess.round.panorama_id, [])
        earlier = seen[: bisect_left(seen, (guess.guessed_at, "", 0))]
        first_seen: dict[str, datetime] = {}
        for at, key, round_id in earlier:
            if key != guess.player_key and round_id != guess.round_id:
                first_seen.setdefault(key, at)
        standings.append(
            Standing(
                established=histories.established(guess.player_key, guess.guessed_at),
                exposures_before=len(first_seen),
                exposed_to_unverified=any(
                    not histories.established(key, at) or key in flags for key, at in first_seen.items()
                ),
                player_flags=flags.get(guess.player_key, ()),
            )
        )
    return standings


def guess_standing_shown(guess: Guess) -> Standing:
    """The standing the player's own reveal weighs (rules.guess_tier with disclose=False, so never the flags): a
    guest's round is open whatever else holds, so it costs no query (the guess path stays short); an account's
    history and the panorama's exposures are read as for the tables."""
    if not player_is_account(guess.player_key):
        return Standing(established=False)
    return guess_standings([guess], flags={})[0]
