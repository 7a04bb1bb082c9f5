"""Games, their rounds (one panorama, one model guess) and each player's guess on a round."""

from __future__ import annotations

from django.db import models

from gameserver.inference.models import ModelVersion, ModelView
from gameserver.panoramas.models import Panorama, PanoramaSet, PanoramaView
from gameserver.public_ids import new_public_id


class Game(models.Model):
    class Mode(models.TextChoices):
        MOVE = "move", "Move"
        NO_MOVE = "no-move", "No move"
        NMPZ = "nmpz", "No move, pan or zoom"

    class Goal(models.TextChoices):
        # What a round asks: a point on the map (GeoGuessr points, the benchmark's distances), or the country of
        # a country streak (streaks.py), which goes on while the player names the right country.
        DISTANCE = "distance", "Distance"
        COUNTRY = "country", "Country streak"

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    panorama_set = models.ForeignKey(PanoramaSet, on_delete=models.PROTECT, related_name="games")
    owner_key = models.CharField(max_length=64)  # the creating player's key (see Player)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="games")
    round_count = models.PositiveSmallIntegerField()
    time_limit_s = models.PositiveIntegerField(null=True, blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.MOVE)
    goal = models.CharField(max_length=10, choices=Goal.choices, default=Goal.DISTANCE)
    created_at = models.DateTimeField(auto_now_add=True)
    # "Play again" in a room: the one next game its players are brought to (services.game_rematch).
    rematch = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rematch_of")
    # The daily challenge this game is one player's try at (the same rounds for everyone that UTC day; daily.py).
    daily = models.DateField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["daily", "owner_key"], condition=models.Q(daily__isnull=False), name="one_daily_try_per_player"
            )
        ]


class Player(models.Model):
    """A participant of a game (a room): the owner, and whoever joined it to play the same rounds."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="players")
    # "user:<id>" for a signed-in account, "guest:<session key>" for a guest.
    player_key = models.CharField(max_length=64)
    # A random id kept in the browser's session data (it survives signing in, which changes the session key):
    # one browser holds at most one seat of a game, whichever account it is signed in to.
    browser_key = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=40)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["game", "player_key"], name="one_seat_per_player")]
        ordering = ["joined_at", "pk"]


class Round(models.Model):
    class ModelStatus(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        UNAVAILABLE = "unavailable"

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveSmallIntegerField()  # 1-based
    panorama = models.ForeignKey(Panorama, on_delete=models.PROTECT, related_name="rounds")
    served_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    # The view served, recorded on first serve: the image (panorama.public_id), the sha256 of the exact bytes
    # players and model get (the whole image, uncropped), and the heading a panorama opens at. A multi-view
    # place's round records each view it served as a RoundView; these fields are its first view's.
    view_sha256 = models.CharField(max_length=64, blank=True)
    view_heading = models.FloatField(null=True, blank=True)
    # The file of this round's own encoding of the view (fresh crop, scale and JPEG quality per serve), under
    # PANORAMA_STORAGE_DIR/rounds; blank for rounds served before views were encoded per round.
    view_name = models.CharField(max_length=64, blank=True)
    model_status = models.CharField(max_length=12, choices=ModelStatus.choices, default=ModelStatus.PENDING)
    model_latitude = models.FloatField(null=True, blank=True)
    model_longitude = models.FloatField(null=True, blank=True)
    model_top_cells = models.JSONField(default=list, blank=True)
    model_checkpoint_sha256 = models.CharField(max_length=64, blank=True)
    # Which image the committed guess was made on: the served bytes, or (external predictions) the original file.
    model_view = models.CharField(max_length=10, choices=ModelView.choices, blank=True)
    model_error = models.TextField(blank=True)
    model_ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["game", "number"], name="unique_round_number")]
        ordering = ["game", "number"]


class RoundView(models.Model):
    """A view of a multi-view place as a round served it: every view in move mode, the first alone otherwise.
    Each is the round's own encoding (serving.py), which players and the model got."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="views")
    number = models.PositiveSmallIntegerField()  # 0-based: /api/rounds/{id}/views/{number}
    panorama_view = models.ForeignKey(PanoramaView, on_delete=models.PROTECT, related_name="served")
    view_name = models.CharField(max_length=64)  # the file under PANORAMA_STORAGE_DIR/rounds
    view_sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "number"], name="unique_round_view_number")]
        ordering = ["round", "number"]


class Guess(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="guesses")
    player_key = models.CharField(max_length=64)
    latitude = models.FloatField(null=True, blank=True)  # null: the round timed out
    longitude = models.FloatField(null=True, blank=True)
    timed_out = models.BooleanField(default=False)
    # The ISO 3166-1 alpha-2 country named in a country-streak round (no point, no km, no points); null
    # otherwise, and on a streak round that timed out.
    country = models.CharField(max_length=2, null=True, blank=True)
    km = models.FloatField(null=True, blank=True)
    points = models.FloatField()
    model_km = models.FloatField(null=True, blank=True)
    model_points = models.FloatField(null=True, blank=True)
    # The model's guess was committed before this guess was locked: only such rounds enter the benchmark.
    model_committed_first = models.BooleanField()
    # The player had already been shown this panorama's truth in an earlier round: excluded from the benchmark.
    seen_before = models.BooleanField(default=False)
    # Why no honest human would produce this guess ("" when nothing is suspicious): see rules.guess_suspicion.
    suspicion = models.CharField(max_length=40, blank=True)
    guessed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "player_key"], name="one_guess_per_player")]


class DailySet(models.Model):
    """The set a day's daily challenge draws from, recorded by the day's first try: a set imported later that
    day never changes the day's places or splits its leaderboard."""

    day = models.DateField(unique=True)
    panorama_set = models.ForeignKey(PanoramaSet, on_delete=models.PROTECT, related_name="daily_days")


class FlaggedGuess(Guess):
    """Guesses left out of the benchmark as suspicious or seen before: the admin lists them for review."""

    class Meta:
        proxy = True
        verbose_name = "flagged guess"
        verbose_name_plural = "flagged guesses"


class FlaggedPlayer(Player):
    """Seats of players the verified tier's anomaly model flags (games/trust.py): the admin lists them for review."""

    class Meta:
        proxy = True
        verbose_name = "flagged player"


class Exposure(models.Model):
    """A panorama whose truth a player has been shown (a reveal served to them), by account and by browser."""

    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="exposures")
    player_key = models.CharField(max_length=64)
    browser_key = models.CharField(max_length=64, blank=True)
    # A guest's address, keyed (games.trust.address_key): clearing cookies makes a new guest, not a new address.
    address_key = models.CharField(max_length=32, blank=True, db_index=True)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="exposures")
    revealed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["panorama", "player_key", "browser_key"], name="one_exposure_per_player_browser"
            )
        ]
        indexes = [models.Index(fields=["player_key"]), models.Index(fields=["browser_key"])]


class StockedView(models.Model):
    """An encoding of a stored image made ahead of a serve (serving_stock.py): the first serve of one round takes
    it and deletes this row, so no two rounds ever get the same bytes; the file stays as that round's view."""

    source_key = models.CharField(max_length=255)  # the stored image it was encoded from (rules.round_view_source)
    equirectangular = models.BooleanField()  # turned as a whole sphere (serving.view_encode), or cropped as a photo
    view_name = models.CharField(max_length=64)  # the file under PANORAMA_STORAGE_DIR/rounds
    view_sha256 = models.CharField(max_length=64)
    turn = models.FloatField(default=0.0)  # degrees a 360° panorama was turned
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["source_key", "equirectangular"])]
