"""The datasheet written beside a round export (Gebru et al., "Datasheets for Datasets", 2021: motivation,
composition, collection and recruitment, consent, preprocessing, uses, distribution, maintenance) and its
Croissant (MLCommons, 1.0) JSON-LD description. Both are generated from the one column spec (columns.py)."""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from gameserver.stats.columns import COLUMNS, CSV_NOTE

EXPORT_LICENCE = "CC BY 4.0"
EXPORT_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
# What the first-play notice says, and the datasheet repeats: what is recorded, for how long, who sees it.
RECORDED = (
    "each round's guess (the point or country named, the time it took), the model's guess on the same "
    "round, the seat name the player typed, and a pseudonymous player id"
)
RETENTION = (
    "for as long as the benchmark runs; a signed-in player can download their rounds and delete them "
    "at any time from their profile"
)
WHO_SEES = (
    "everyone sees the aggregate tables (with seat names only where the player chose one); researchers "
    "and admins of this deployment can export the rounds, pseudonymised"
)
ENCODINGS = {"csv": "text/csv", "jsonl": "application/jsonlines", "parquet": "application/x-parquet"}
CROISSANT_TYPES = {
    "str": "sc:Text",
    "float": "sc:Float",
    "int": "sc:Integer",
    "bool": "sc:Boolean",
    "datetime": "sc:Date",
}
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "equivalentProperty": "cr:equivalentProperty",
    "conformsTo": "dct:conformsTo",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


def player_distribution(records: list[dict[str, object]]) -> dict[str, Any]:
    """Who the humans are, in counts: players, rounds per player (min, median, max), the busiest player's and
    the busiest five's share of rounds, and how many played fewer than 10 rounds."""
    per_player = sorted(Counter(str(row["player_id"]) for row in records).values(), reverse=True)
    total = sum(per_player)
    return {
        "players": len(per_player),
        "rounds": total,
        "min": per_player[-1] if per_player else 0,
        "median": statistics.median(per_player) if per_player else 0,
        "max": per_player[0] if per_player else 0,
        "busiest_share": per_player[0] / total if total else 0.0,
        "busiest_five_share": sum(per_player[:5]) / total if total else 0.0,
        "under_ten": sum(count < 10 for count in per_player),
        "signed_in_named": sum(bool(row.get("player_name")) for row in records),
    }


def datasheet(*, rows: int, filters: dict[str, str], fmt: str, records: list[dict[str, object]] | None = None) -> str:
    """The markdown datasheet written beside an export of `rows` rows; `records` (the rows themselves) adds the
    per-player distribution and the time span."""
    applied = ", ".join(f"{key}={value}" for key, value in filters.items() if value) or "none"
    lines = [
        "# PlaNet Arena round export: datasheet",
        "",
        f"{rows} rows, one per player-round, format {fmt}; filters: {applied}. Licence of the rows: "
        f"{EXPORT_LICENCE} ({EXPORT_LICENCE_URL}); each image keeps its own licence (`panorama_licence`).",
        "",
        *_motivation(),
        *_composition(records),
        *_collection(records),
        *_consent(),
        *_preprocessing(),
        *_uses(),
        *_distribution(),
        *_maintenance(),
        "## Columns",
        "",
        *(CSV_NOTE if fmt == "csv" else []),
        "| column | type | meaning |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{c.name}` | {c.kind} | {c.description} |" for c in COLUMNS]
    return "\n".join(lines) + "\n"


def _motivation() -> list[str]:
    return [
        "## Motivation",
        "",
        "To compare people with a geolocation model (PlaNet-style: the Earth cut into S2 cells, a classifier "
        "over them) on the same images under the same rules, as PlaNet compared itself with 10 players on 50 "
        "GeoGuessr rounds, with enough rounds, players and panoramas to say how sure the comparison is. The "
        "rows are recorded by the game server of this deployment, run by its operator.",
        "",
    ]


def _composition(records: list[dict[str, object]] | None) -> list[str]:
    lines = [
        "## Composition",
        "",
        "Each row is one player's guess on one round, beside the model's guess on the same round: made on the "
        "same served image, or, for a model registered by its predictions, on the dataset's original file "
        "(`model_view`). The benchmark counts only rows with `counted` true. "
        "`python manage.py benchmark_report --input FILE` recomputes every table of the stats page from this "
        "file alone.",
        "",
        "Rows are not independent duels: the same `panorama_id` recurs across players (and the model answers a "
        "panorama alike every time), and one `player_id` may hold many rows. Treat panoramas and players as "
        "crossed clusters (Cameron, Gelbach & Miller 2011), as `benchmark_report` does; where a few players "
        'hold most rows the tables say "too few players to say".',
        "",
    ]
    if records is not None:
        d = player_distribution(records)
        lines += [
            f"Who the humans are: {d['players']} pseudonymous players; rounds per player min {d['min']}, "
            f"median {d['median']:g}, max {d['max']}; the busiest player holds {d['busiest_share']:.1%} of "
            f"rows and the busiest five {d['busiest_five_share']:.1%}; {d['under_ten']} players have fewer "
            f"than 10 rows; {d['signed_in_named']} rows carry a seat name the player chose. Nothing else "
            "is known of the players (no age, place or skill survey): they are whoever chose to play.",
            "",
        ]
    lines += [
        "Missing data: a timeout (`human_timed_out`) has no guess and counts as an infinite error: outside "
        "every radius, a loss to any model guess, the largest error for medians, capped at half the Earth's "
        "circumference (20,037.5 km) in log-error ratios. A seat that never guessed is a timeout too "
        "(`guess_missing`). The tables show a sensitivity row with timeouts left out.",
        "",
        "Right country and right continent come from offline Natural Earth admin-0 polygons; first-level "
        "regions are not in that data. A continent is its country's, as Natural Earth files it (all of "
        "Russia is Europe). Country-streak rounds (a country named, no point) are rows with `exclusion` "
        "country_streak, never counted.",
        "",
    ]
    return lines


def _collection(records: list[dict[str, object]] | None) -> list[str]:
    span = ""
    if records:
        times = sorted(str(row["guessed_at"]) for row in records if row.get("guessed_at"))
        span = f" These rows span {times[0]} to {times[-1]} (UTC)." if times else ""
    return [
        "## Collection and recruitment",
        "",
        "Recorded by the game as rounds are played: the server serves the image, the model's guess is "
        "committed before the player's is locked, and both are scored by great-circle distance (haversine, "
        "mean Earth radius 6371.0088 km). Only rounds of finished games appear (every round closed, or the "
        "game abandoned 48 h after it was created)." + span,
        "",
        "Recruitment: none. Players are visitors who chose to play (guests and signed-in accounts), unpaid; "
        "they are not a sample of any population, and skilled players may be over-represented.",
        "",
    ]


def _consent() -> list[str]:
    return [
        "## Consent",
        "",
        "Before the first round a notice tells every player that rounds are recorded for research: what "
        f"({RECORDED}), for how long ({RETENTION}), and who sees it ({WHO_SEES}), with a link to this "
        "datasheet. Playing on is the consent. A signed-in player can download their own rows and delete them; "
        "a guest's rounds are tied to a browser session and cannot be claimed later.",
        "",
    ]


def _preprocessing() -> list[str]:
    return [
        "## Preprocessing",
        "",
        "Player keys become `player_id`, an HMAC-SHA256 under the deployment's secret (not reversible without "
        "it). A seat name is kept only when the player chose it (a default guest name or an account's username "
        "is left empty). Rounds are marked, not removed, when excluded (`exclusion`) or not verified "
        "(`tier`, `tier_reasons`). Countries come from offline reverse geocoding. In CSV, text that a "
        "spreadsheet would run as a formula is quoted (see Columns).",
        "",
    ]


def _uses() -> list[str]:
    return [
        "## Uses",
        "",
        "For: comparing people and models at geolocation (accuracy at 1/25/200/750/2500 km, closer guess, "
        "right country), with cluster-aware inference. Not for: identifying or profiling players, judging an "
        "individual's skill from a few rounds (per-player numbers are exploratory), or locating people from "
        "photos.",
        "",
    ]


def _distribution() -> list[str]:
    return [
        "## Distribution",
        "",
        f"Exports go to researchers and admins of the deployment. The rows are licensed {EXPORT_LICENCE} "
        f'({EXPORT_LICENCE_URL}): credit "PlaNet Arena players" and the deployment; images are not in the '
        "export, only their ids, licences and credit lines. A Croissant (MLCommons) JSON-LD description is "
        "written beside each export.",
        "",
        "Ratings fix one model at 1500 Elo: the one in `rating_anchor` (the default model when the rows were "
        "read; the stats page, the API and `benchmark_report` all use it; empty: the model with the most counted "
        "rounds). Models have a Normal prior of sd 200 around the anchor, players one of sd 200 around the "
        "humans' pooled strength; players with fewer than 10 rounds are provisional, and a player or model "
        "linked to the anchor by no chain of rounds is listed apart, unranked.",
        "",
    ]


def _maintenance() -> list[str]:
    return [
        "## Maintenance",
        "",
        "Maintained by the deployment's operator; exports are snapshots, regenerated on request. When a player "
        "deletes their data, their rounds leave the database and every later export. Earlier releases are not "
        "changed retroactively: they are snapshots held by their recipients, who agree to replace them with a "
        "later release on request and to drop rows that no longer appear in it (match on `round_id` and "
        "`player_id`).",
        "",
    ]


def croissant(*, name: str, data: bytes, fmt: str, rows: int, filters: dict[str, str]) -> dict[str, Any]:
    """A Croissant 1.0 JSON-LD description of one export file (`name` as written beside it): the file, its
    checksum and one record set with a field per column."""
    applied = ", ".join(f"{key}={value}" for key, value in filters.items() if value) or "none"
    file_id = "rounds-file"
    return {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": "planet-arena-rounds",
        "description": f"PlaNet Arena round export: {rows} player-rounds (filters: {applied}), one per player's "
        "guess beside the model's guess on the same round. See the datasheet beside this file.",
        "license": EXPORT_LICENCE_URL,
        "version": "1.0.0",
        "datePublished": datetime.now(UTC).date().isoformat(),
        "citeAs": "PlaNet Arena players, round export",
        "distribution": [
            {
                "@type": "cr:FileObject",
                "@id": file_id,
                "name": name,
                "contentUrl": name,
                "encodingFormat": ENCODINGS[fmt],
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        ],
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "rounds",
                "name": "rounds",
                "description": "One row per player-round.",
                "field": [
                    {
                        "@type": "cr:Field",
                        "@id": f"rounds/{c.name}",
                        "name": c.name,
                        "description": c.description,
                        "dataType": CROISSANT_TYPES[c.kind],
                        "source": {"fileObject": {"@id": file_id}, "extract": {"column": c.name}},
                    }
                    for c in COLUMNS
                ],
            }
        ],
    }
