"""The OpenAPI component schemas of a round: its view before the guess, the wait for the other seats, the
reveal (with the model's cells and the streaks), and the guess itself."""

from __future__ import annotations

from typing import Any

from gameserver.games.openapi_fragments import VIEW, ref
from planet_engine.geo import THRESHOLD_NAMES

OUTCOME = {"type": "string", "enum": ["human", "model", "tie"]}

ROUND_SCHEMAS: dict[str, Any] = {
    "RoundView": {
        "type": "object",
        "description": "a round before the player's guess: no location at all",
        "properties": {
            "round": {"type": "string"},
            "number": {"type": "integer"},
            "kind": {"type": "string", "enum": ["photo", "equirectangular", "multiview"]},
            "mode": {"type": "string"},
            "goal": {"type": "string", "enum": ["distance", "country"]},
            "image_url": {"type": "string", "description": "the (first) view's JPEG"},
            "views": {
                "type": "array",
                "description": "multiview only: every view served, in order",
                "items": {
                    "type": "object",
                    "properties": {
                        "image_url": {"type": "string"},
                        "name": {"type": "string"},
                        "heading": {
                            "type": ["number", "null"],
                            "description": "the compass point the view faces, in degrees "
                            "(a multiple of 45: N, NE, ...), never its exact "
                            "heading",
                        },
                    },
                },
            },
            "heading": {
                "type": ["number", "null"],
                "description": "the yaw a 360° panorama opens at, in its served (randomly turned) "
                "frame; null for a photo",
            },
            "deadline": {"type": ["string", "null"], "format": "date-time"},
            "model_ready": {"type": "boolean"},
            "locked": {"const": False},
        },
    },
    "Waiting": {
        "type": "object",
        "description": "a locked guess on a round some seat has not locked: the "
        "player's own guess and how many have guessed; no truth, model guess, distance or points",
        "properties": {
            "round": {"type": "string"},
            "number": {"type": "integer"},
            "locked": {"const": True},
            "revealed": {"const": False},
            "human": ref("Point"),
            "guessed": {"type": "integer"},
            "players": {"type": "integer"},
            "deadline": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Streak": {
        "type": "object",
        "description": "both streaks on the same rounds: rounds right in a row from the first",
        "properties": {
            "human": {"type": "integer"},
            "model": {"type": "integer", "description": "PlaNet's, on the rounds the player saw"},
            "rounds": {"type": "integer", "description": "rounds revealed so far"},
            "model_alive": {"type": "boolean", "description": "PlaNet named every one of those rounds"},
            "over": {"type": "boolean", "description": "game summary: the streak has ended"},
            "ended": {"type": "boolean", "description": "reveal: this round ended the player's streak"},
        },
    },
    "Point": {
        "type": "object",
        "properties": {"latitude": {"type": ["number", "null"]}, "longitude": {"type": ["number", "null"]}},
    },
    "Reveal": {
        "type": "object",
        "description": "a round after the player's guess is locked (a country streak's: "
        "countries and `streak`, no km, points, winners or thresholds)",
        "properties": {
            "round": {"type": "string"},
            "number": {"type": "integer"},
            "locked": {"const": True},
            "goal": {"type": "string", "enum": ["country"], "description": "present in a country streak's reveal"},
            "streak": ref("Streak"),
            "revealed": {"const": True},
            "repeated": {"type": "boolean", "description": "POST only: true when the guess was already locked"},
            "counted": {"type": "boolean", "description": "whether the round enters the benchmark (the open tier)"},
            "tier": {
                "type": "string",
                "enum": ["verified", "open", "excluded"],
                "description": "the round's benchmark tier as far as the player is told (anomaly flags and "
                "suspicion are for staff and researchers only)",
            },
            "tier_reasons": {
                "type": "array",
                "items": {"type": "string"},
                "description": "why the round is open (guest, public_set, ...) or excluded",
            },
            "truth": {
                "allOf": [ref("Point")],
                "properties": {"country": {"type": "string"}, "continent": {"type": "string"}},
            },
            "human": {
                "allOf": [ref("Point")],
                "properties": {
                    "timed_out": {"type": "boolean"},
                    "km": {"type": ["number", "null"]},
                    "points": {"type": "integer"},
                    "country": {"type": ["string", "null"], "description": "country streak: the country named"},
                    "right": {"type": "boolean", "description": "country streak: it is the true country"},
                },
            },
            "model": {
                "type": "object",
                "properties": {
                    "country": {"type": ["string", "null"], "description": "country streak: the country of its point"},
                    "right": {"type": "boolean", "description": "country streak: it is the true country"},
                    "status": {"type": "string", "enum": ["pending", "ready", "unavailable"]},
                    "latitude": {"type": "number"},
                    "longitude": {"type": "number"},
                    "km": {"type": "number"},
                    "points": {"type": "integer"},
                    "checkpoint_sha256": {"type": "string"},
                    "view": VIEW,
                    "top_cells": {"type": "array", "items": ref("Cell")},
                },
            },
            "winners": {
                "type": "object",
                "properties": {name: OUTCOME for name in THRESHOLD_NAMES},
                "description": "per radius of `thresholds`: tie when both are inside or both outside",
            },
            "thresholds": {
                "type": "array",
                "description": "the radii judged at, in order",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "enum": list(THRESHOLD_NAMES)}, "km": {"type": "number"}},
                },
            },
            "head_to_head": OUTCOME,
            "opponents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "latitude": {"type": ["number", "null"]},
                        "longitude": {"type": ["number", "null"]},
                        "timed_out": {"type": "boolean"},
                        "km": {"type": ["number", "null"]},
                        "points": {"type": "integer"},
                    },
                },
            },
            "attribution": {"type": "string"},
            "licence": {"type": "string"},
        },
    },
    "Cell": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "S2 cell token"},
            "probability": {"type": "number"},
            "latitude": {"type": "number"},
            "longitude": {"type": "number"},
            "polygon": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}},
                "description": "[latitude, longitude] vertices",
            },
        },
    },
    "Guess": {
        "type": "object",
        "description": "latitude and longitude; in a country streak's round country instead; or timed_out: true",
        "properties": {
            "country": {
                "type": "string",
                "pattern": "^[A-Za-z]{2}$",
                "description": "ISO 3166-1 alpha-2, one of the catalogue's countries",
            },
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "timed_out": {"type": "boolean"},
        },
    },
}
