"""The columns of a round export: one spec for the writers, the datasheet (datasheet.py) and reading an export
back."""

from __future__ import annotations

from dataclasses import dataclass

from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str | float | int | bool | datetime
    description: str


COLUMNS: tuple[Column, ...] = (
    Column("round_id", "str", "opaque id of the round (the same for every player of a room)"),
    Column("game_id", "str", "opaque id of the game (room)"),
    Column("round_number", "int", "1-based position of the round in its game"),
    Column(
        "player_id",
        "str",
        "pseudonymous player id: the first 16 hex digits of an HMAC-SHA256 of the player "
        "key under the deployment's secret (stable within a deployment, not reversible without the secret)",
    ),
    Column(
        "player_name",
        "str",
        "the name the player chose for their seat; empty when they chose none (a default "
        "guest name or their account's username is not published: tables show the pseudonymous player_id)",
    ),
    Column("panorama_set", "str", "name of the panorama set"),
    Column("panorama_id", "str", "opaque id of the panorama"),
    Column("panorama_licence", "str", "licence of the image"),
    Column("panorama_attribution", "str", "credit line of the image"),
    Column(
        "panorama_kind",
        "str",
        "photo, equirectangular or multiview (a place's views: every one served in "
        "move mode, the first alone in no-move and nmpz)",
    ),
    Column("truth_latitude", "float", "where the image was taken, WGS84 degrees"),
    Column("truth_longitude", "float", "where the image was taken, WGS84 degrees"),
    Column("truth_country", "str", "ISO alpha-2 country of the truth (offline reverse geocoding)"),
    Column("truth_continent", "str", "continent of the truth (Natural Earth)"),
    Column(
        "view_sha256",
        "str",
        "sha256 of the exact image bytes served to the players and the model (a multi-view round: its first view's)",
    ),
    Column(
        "view_heading",
        "float",
        "yaw a 360° panorama opened at, degrees, in the frame it was served in (each "
        "serve turns the panorama by a random angle; NMPZ: the manifest's heading of the rendered view); "
        "empty for photos",
    ),
    Column("mode", "str", "move, no-move or nmpz"),
    Column("time_limit_s", "int", "round time limit in seconds; empty when unlimited"),
    Column("human_latitude", "float", "the player's guess; empty when the round timed out"),
    Column("human_longitude", "float", "the player's guess; empty when the round timed out"),
    Column("human_timed_out", "bool", "the player sent no guess before the deadline"),
    Column(
        "human_country",
        "str",
        "ISO alpha-2 country of the player's guess (a country streak's round: the country the player named)",
    ),
    Column("human_continent", "str", "continent of the player's guess"),
    Column(
        "human_km",
        "float",
        "great-circle error of the player, km; empty when timed out and in a country "
        "streak's round (a country named, no point)",
    ),
    Column("human_points", "float", "GeoGuessr points of the player, 5000·exp(−km/1492.7); 0 when timed out"),
    Column("model_name", "str", "the model version played against"),
    Column("model_checkpoint_sha256", "str", "sha256 of the checkpoint file that made the model's guess"),
    Column(
        "model_view",
        "str",
        "the image the model's guess was made on: served (the exact bytes served to the "
        "players, view_sha256) or original (the dataset's file: a model registered by its predictions); empty "
        "when the model did not answer",
    ),
    Column("model_status", "str", "ready, pending or unavailable"),
    Column("model_latitude", "float", "the model's point guess"),
    Column("model_longitude", "float", "the model's point guess"),
    Column("model_country", "str", "ISO alpha-2 country of the model's guess"),
    Column("model_continent", "str", "continent of the model's guess"),
    Column("model_top_cells", "str", "JSON list of the model's top S2 cells: [token, probability]"),
    Column("model_km", "float", "great-circle error of the model, km; empty in a country streak's round"),
    Column("model_points", "float", "GeoGuessr points of the model"),
    Column("model_committed_first", "bool", "the model's guess was committed before the player's was locked"),
    Column("near_training_photo", "bool", "the panorama lies within 1 km of a photo the model was trained on"),
    Column(
        "guess_missing",
        "bool",
        "the seat never sent a guess: recorded as a timeout when the round closed "
        "(human fields empty, 0 points); its model side is what the model had committed by then",
    ),
    Column("seen_before", "bool", "the player had been shown this panorama's truth in an earlier round"),
    Column(
        "suspicion",
        "str",
        "why no honest human would produce this guess: exact_and_fast (under 100 m within "
        "10 s) or run_of_exact (3 of the player's last 5 guesses under 1 km); else empty",
    ),
    Column(
        "counted",
        "bool",
        "the round enters the benchmark: the model committed first, the place is not near "
        "training data, the player had not seen it before, nothing suspicious",
    ),
    Column(
        "exclusion",
        "str",
        "why a round is not counted, the first that applies: country_streak (a country "
        "streak's round: a country named, no distance), model_not_committed, near_training_photo, seen_before, "
        "daily_challenge, suspicious (tables can include these on request); else empty",
    ),
    Column(
        "tier",
        "str",
        "verified (the headline tables: every rule of the verified tier passes), open (counted, "
        "but a reason in tier_reasons applies) or excluded (not counted: see exclusion)",
    ),
    Column(
        "tier_reasons",
        "str",
        "why a counted round is not verified, ';'-separated in this order: guest, "
        "account_not_established, public_set (its photos are published), panorama_retired, "
        "exposure_budget_spent (its truth was revealed to more identities than the set's budget), "
        "exposed_to_unverified (revealed before to an identity the tier does not trust), flagged_player (the "
        "anomaly model flags the player: too_good or no_effort, in player_flags); empty when verified",
    ),
    Column(
        "player_flags",
        "str",
        "the anomaly model's flags on the player, ';'-separated: too_good (their errors "
        "beat nearly all of the population's on the same set, consistently), no_effort (timeouts, instant, "
        "near-antipodal or consistently worst guesses); empty when none",
    ),
    Column(
        "rating_anchor",
        "str",
        "the model whose rating the tables fix at 1500 Elo: the default model when the "
        "rows were read, the same on every row (benchmark_report reads it here, so the page, the API and the "
        "report share one anchor); empty: the model with the most counted rounds",
    ),
    Column(
        "set_prior_km",
        "float",
        "great-circle km from the set prior (a fixed guess at the geometric median of "
        "the set's places, measured at import) to the truth: the baseline no one has to look to reach",
    ),
    *(
        Column(f"winner_{name}", "str", f"human, model or tie within {km:g} km (tie: both inside or both outside)")
        for name, km in zip(THRESHOLD_NAMES, THRESHOLDS_KM, strict=True)
    ),
    Column("head_to_head", "str", "human, model or tie by the smaller error"),
    Column("served_at", "datetime", "when the round was first served (UTC, ISO 8601)"),
    Column("model_ready_at", "datetime", "when the model's guess was committed"),
    Column("guessed_at", "datetime", "when the player's guess was locked"),
    Column("time_taken_s", "float", "seconds from serving the round to the player's guess"),
)
NAMES = tuple(column.name for column in COLUMNS)


CSV_NOTE = [
    "In this CSV file a text cell that begins with `=`, `+`, `-`, `@`, a tab, a carriage return or a single quote "
    "carries one extra leading single quote, so that spreadsheets do not run it as a formula (OWASP's advice on "
    "CSV injection); `benchmark_report` and `export_read` remove it, and JSON lines and Parquet exports hold the "
    "exact values. Numeric cells are written unchanged, and rows end in CRLF.",
    "",
]
