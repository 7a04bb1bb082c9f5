"""The OpenAPI component schemas of the session, the profile, the catalogue and a game (its creation, its
seats and its rounds' summary), with the error every /api/ route answers."""

from __future__ import annotations

from typing import Any

from gameserver.games.openapi_fragments import VIEW, ref

GAME_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "safe to show; every /api/ error is this JSON, 500 included"},
            "offer": {"allOf": [ref("GameCreate")], "description": "409 on join: the same game, fresh"},
        },
    },
    "Session": {
        "type": "object",
        "properties": {"player": {"type": "string", "enum": ["guest", "user"]}, "name": {"type": ["string", "null"]}},
    },
    "Profile": {
        "type": "object",
        "properties": {
            "player": {"type": "string", "enum": ["guest", "user"]},
            "name": {"type": ["string", "null"]},
            "display_name": {"type": ["string", "null"], "description": "the latest seat name"},
            "games": {"type": "integer"},
            "rounds": {"type": "integer"},
            "counted_rounds": {"type": "integer"},
            "mean_points": {"type": ["number", "null"]},
            "models": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string"},
                        "rounds": {"type": "integer"},
                        "wins": {"type": "integer"},
                        "ties": {"type": "integer"},
                        "losses": {"type": "integer"},
                    },
                },
            },
            "rating": {
                "type": "object",
                "properties": {
                    "points": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "game": {"type": "string"},
                                "played_at": {"type": "string", "format": "date-time"},
                                "counted_rounds": {"type": "integer"},
                                "rating": {"type": "number"},
                            },
                        },
                    },
                    "anchor": {"type": ["string", "null"]},
                    "anchor_rating": {"type": "number"},
                    "provisional": {"type": "boolean"},
                    "definition": {"type": "string"},
                },
            },
        },
    },
    "Catalogue": {
        "type": "object",
        "properties": {
            "sets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "panoramas": {"type": "integer"},
                        "views": {
                            "type": "integer",
                            "description": "pictures: one per panorama, each view of a multi-view place",
                        },
                        "licence": {"type": "string"},
                        "attribution": {"type": "string"},
                    },
                },
            },
            "models": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string", "enum": ["planet", "knn", "external"]},
                        "view": VIEW,
                        "description": {"type": "string"},
                        "checkpoint_sha256": {"type": "string"},
                        "default": {"type": "boolean"},
                    },
                },
            },
            "countries": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "description": "ISO 3166-1 alpha-2 codes a country-streak guess may name",
            },
        },
    },
    "GameCreate": {
        "type": "object",
        "required": ["set"],
        "properties": {
            "set": {"type": "string", "description": "a panorama set's name"},
            "rounds": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "default": 5,
                "description": "distance games; a country streak starts with one round and grows",
            },
            "goal": {
                "type": "string",
                "enum": ["distance", "country"],
                "default": "distance",
                "description": "distance: place a point, GeoGuessr points; country: a country streak (name the "
                "country; the first wrong one ends the game; played alone)",
            },
            "time_limit_s": {"type": ["integer", "null"], "minimum": 5, "maximum": 3600, "default": None},
            "mode": {"type": "string", "enum": ["move", "no-move", "nmpz"], "default": "move"},
            "model": {"type": "string", "description": "a model version's name; the default model if left out"},
            "name": {"type": "string", "maxLength": 40, "description": "the creator's display name"},
        },
    },
    "Join": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 40}}},
    "Game": {
        "type": "object",
        "properties": {
            "game": {"type": "string"},
            "set": {"type": "string"},
            "model": {"type": "string"},
            "round_count": {"type": "integer"},
            "time_limit_s": {"type": ["integer", "null"]},
            "mode": {"type": "string"},
            "goal": {"type": "string", "enum": ["distance", "country"]},
            "joined": {"type": "boolean"},
            "streak": {
                "oneOf": [{"type": "null"}, ref("Streak")],
                "description": "a country streak's standing over its revealed rounds; null in a distance game",
            },
            "rounds": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "integer"},
                        "round": {"type": ["string", "null"]},
                        "locked": {"type": "boolean"},
                        "revealed": {"type": "boolean", "description": "every seat locked, or the round closed"},
                        "guessed": {"type": "integer", "description": "seats that have locked this round"},
                        "points": {"type": ["integer", "null"], "description": "null until the round is revealed"},
                        "model_points": {"type": ["integer", "null"]},
                    },
                },
            },
            "joinable": {"type": "boolean", "description": "no round served yet"},
            "players": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "you": {"type": "boolean"},
                        "rounds_played": {"type": "integer"},
                        "total_points": {"type": "integer", "description": "over revealed rounds only"},
                    },
                },
            },
            "total_points": {"type": "integer"},
            "total_model_points": {"type": "integer"},
            "finished": {"type": "boolean"},
            "daily": {
                "type": ["string", "null"],
                "format": "date",
                "description": "the day of a daily challenge's try; null in any other game",
            },
            "rematch": {
                "type": ["string", "null"],
                "description": "the room's next game, once a seat asked to play again",
            },
        },
    },
}
