"""The OpenAPI 3.1 description of the JSON API, served at /api/schema. A test checks that it names every
route in gameserver/games/urls.py with its methods, and that every reference in it resolves."""

from __future__ import annotations

from typing import Any

from gameserver.games.openapi_fragments import json_response, ref
from gameserver.games.openapi_game_schemas import GAME_SCHEMAS
from gameserver.games.openapi_round_schemas import ROUND_SCHEMAS


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "bad input (the message says what)",
        401: "sign in first",
        403: "not a player of this game (join it first)",
        404: "unknown id or name",
        405: "wrong method",
        409: "the game has started: joining is closed; `offer` holds a fresh game's settings to POST /api/games",
        429: "rate limited (settings RATE_LIMITS); the Retry-After header says when to try again",
    }
    return {str(code): json_response(ref("Error"), text[code]) for code in codes}


def _path_id(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": kind}}


GAME_ID = _path_id("game_id", "the game's opaque id")
ROUND_ID = _path_id("round_id", "the round's opaque id")
STATS_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in ("set", "model", "mode")
]
POST_NOTE = (
    "POSTs need the session cookie and the CSRF token (cookie `csrftoken`, sent back as the "
    "`X-CSRFToken` header) that GET /api/session sets."
)

SCHEMAS: dict[str, Any] = {**GAME_SCHEMAS, **ROUND_SCHEMAS}

WEBSOCKET = (
    "Live round state: connect to `ws://HOST/ws/games/{game_id}` (same origin). The socket only sends JSON "
    "events `{event, round, ...}`: player_joined (name, players), round_started, model_ready, "
    "player_guessed (name, guesses, players), round_complete (every seat has locked: the reveal, for all at "
    "once). A frame from the client closes the socket (4008, with a reason): act through the HTTP API. "
    "Events never carry a location; after round_complete, or at the deadline, GET /api/rounds/{round_id} "
    "gives the reveal."
)


def schema() -> dict[str, Any]:
    game_ok = json_response(ref("Game"), "the game as this player sees it")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PlaNet Arena API",
            "version": "1.0",
            "description": f"The JSON API the browser game uses. {POST_NOTE}\n\n{WEBSOCKET}",
        },
        "paths": {
            "/api/session": {
                "get": {
                    "summary": "Start a guest session (or name the signed-in account); sets the CSRF cookie",
                    "responses": {"200": json_response(ref("Session"), "who is playing")},
                }
            },
            "/api/catalogue": {
                "get": {
                    "summary": "Panorama sets and model versions a game can use",
                    "responses": {"200": json_response(ref("Catalogue"), "sets and models")},
                }
            },
            "/api/schema": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1 JSON"}}}
            },
            "/api/games": {
                "post": {
                    "summary": "Create a game of N rounds drawn without repeats; the creator is its first player",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("GameCreate")}}},
                    "responses": {"201": game_ok, **_errors(400, 404, 429)},
                }
            },
            "/api/games/{game_id}": {
                "parameters": [GAME_ID],
                "get": {
                    "summary": "The game, this player's rounds and points, and the room's standings",
                    "responses": {"200": game_ok, **_errors(404)},
                },
            },
            "/api/games/{game_id}/join": {
                "parameters": [GAME_ID],
                "post": {
                    "summary": "Take a seat in the game's room before its first round is served; one seat per account "
                    "and per browser; joining twice keeps one seat",
                    "requestBody": {"content": {"application/json": {"schema": ref("Join")}}},
                    "responses": {"200": game_ok, **_errors(400, 404, 409, 429)},
                },
            },
            "/api/daily": {
                "post": {
                    "summary": "Today's daily challenge (UTC): the same five rounds for everyone, one try; returns "
                    "this player's try (a new game, or the one already started)",
                    "requestBody": {"content": {"application/json": {"schema": ref("Join")}}},
                    "responses": {"200": game_ok, **_errors(400, 429)},
                }
            },
            "/api/daily/leaderboard": {
                "get": {
                    "summary": "A day's finished tries, best first, with PlaNet's mean total over them; points only",
                    "parameters": [
                        {
                            "name": "day",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "format": "date"},
                            "description": "default: today (UTC)",
                        }
                    ],
                    "responses": {
                        "200": json_response(
                            {"type": "object"},
                            "the day, its leaderboard rows and `you`: this player's own "
                            "try (points, finished, on_board, rank, of) or null",
                        ),
                        **_errors(400),
                    },
                }
            },
            "/api/games/{game_id}/rematch": {
                "parameters": [GAME_ID],
                "post": {
                    "summary": "Play again as a room: the first seat to ask creates the next game (same settings) and "
                    "the room hears of it (`rematch` event); every later seat is seated in that game",
                    "requestBody": {"content": {"application/json": {"schema": ref("Join")}}},
                    "responses": {"200": game_ok, **_errors(400, 403, 404, 409, 429)},
                },
            },
            "/api/games/{game_id}/rounds/{number}/start": {
                "parameters": [GAME_ID, _path_id("number", "1-based round number", "integer")],
                "post": {
                    "summary": "Serve a round: starts its clock once and asks the model on the same pixels",
                    "responses": {
                        "200": json_response(ref("RoundView"), "the round, no location"),
                        **_errors(403, 404),
                    },
                },
            },
            "/api/rounds/{round_id}": {
                "parameters": [ROUND_ID],
                "get": {
                    "summary": "The round: its view before this player's guess; after it, the reveal once every seat "
                    "has locked or the round closed, else who has guessed",
                    "responses": {
                        "200": json_response(
                            {"oneOf": [ref("RoundView"), ref("Waiting"), ref("Reveal")]}, "view, waiting or reveal"
                        ),
                        **_errors(403, 404),
                    },
                },
            },
            "/api/rounds/{round_id}/image": {
                "parameters": [ROUND_ID],
                "get": {
                    "summary": "The served image, to the game's players: a re-encoded JPEG without metadata",
                    "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}}, **_errors(403, 404)},
                },
            },
            "/api/rounds/{round_id}/views/{number}": {
                "parameters": [ROUND_ID, _path_id("number", "0-based view of a multi-view round", "integer")],
                "get": {
                    "summary": "One served view of a multi-view round, to the game's players: its own "
                    "re-encoded JPEG without metadata",
                    "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}}, **_errors(403, 404)},
                },
            },
            "/api/rounds/{round_id}/guess": {
                "parameters": [ROUND_ID],
                "post": {
                    "summary": "Lock this player's guess (or timeout): the reveal if every seat has locked, else "
                    "who has guessed; repeating it changes nothing",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Guess")}}},
                    "responses": {
                        "201": json_response({"oneOf": [ref("Reveal"), ref("Waiting")]}, "locked now"),
                        "200": json_response(
                            {"oneOf": [ref("Reveal"), ref("Waiting")]}, "was already locked (repeated: true)"
                        ),
                        **_errors(400, 403, 404, 429),
                    },
                },
            },
            "/api/profile": {
                "get": {
                    "summary": "This player's profile (the signed-in account, else this browser's guest session): "
                    "games, rounds and mean points of finished games, wins/ties/losses against each model "
                    "over counted rounds, and the rating after each game",
                    "responses": {"200": json_response(ref("Profile"), "the profile")},
                }
            },
            "/api/profile/data": {
                "get": {
                    "summary": "A signed-in player's own rounds of finished games, as export rows (a file to keep)",
                    "responses": {
                        "200": {"description": "player_id, rounds and rows (see the datasheet)"},
                        **_errors(401),
                    },
                }
            },
            "/api/profile/delete": {
                "post": {
                    "summary": "Delete a signed-in player's rounds (their guesses and seats; games left empty go too): "
                    'they leave every later export. The body must be {"confirm": "delete"}',
                    "responses": {
                        "200": {"description": "how many guesses, seats and games were deleted"},
                        **_errors(400, 401),
                    },
                }
            },
            "/api/stats/benchmark": {
                "get": {
                    "summary": "Every benchmark table of one tier over the rounds of finished games: tier=verified "
                    "(the default and the headline) or open (every counted round); optional filters set, "
                    "model, mode; suspicious=include counts rounds flagged as suspicious in the open tier. "
                    "`tiers` gives both tiers' sizes and why open rounds are not verified",
                    "parameters": [
                        *STATS_FILTERS,
                        {
                            "name": "suspicious",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["include"]},
                        },
                        {
                            "name": "tier",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["verified", "open"], "default": "verified"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "thresholds, head to head, errors, paired analysis, "
                            "breakdowns, ratings, exclusions"
                        },
                        "400": json_response(ref("Error"), "a filter names no set, model or mode"),
                    },
                }
            },
            "/api/stats/export": {
                "get": {
                    "summary": "One row per player-round as CSV, JSON lines or Parquet (researchers and admins)",
                    "parameters": [
                        *STATS_FILTERS,
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["csv", "jsonl", "parquet"], "default": "csv"},
                        },
                    ],
                    "responses": {
                        "200": {"description": "the export file"},
                        "401": json_response(ref("Error"), "not signed in"),
                        "403": json_response(ref("Error"), "not a researcher or admin"),
                        **_errors(400),
                    },
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
