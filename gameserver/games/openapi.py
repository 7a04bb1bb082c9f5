"""The OpenAPI 3.1 description of the JSON API, served at /api/schema. A test checks that it names every
route in gameserver/games/urls.py with its methods, and that every reference in it resolves."""

from __future__ import annotations

from typing import Any

from planet_engine.geo import THRESHOLD_NAMES

OUTCOME = {"type": "string", "enum": ["human", "model", "tie"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "bad input (the message says what)", 401: "sign in first",
            403: "not a player of this game (join it first)",
            404: "unknown id or name", 405: "wrong method",
            409: "the game has started: joining is closed; `offer` holds a fresh game's settings to POST /api/games",
            429: "rate limited (settings RATE_LIMITS); the Retry-After header says when to try again"}
    return {str(code): _json(_ref("Error"), text[code]) for code in codes}


def _path_id(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": kind}}


GAME_ID = _path_id("game_id", "the game's opaque id")
ROUND_ID = _path_id("round_id", "the round's opaque id")
STATS_FILTERS = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                 for name in ("set", "model", "mode")]
POST_NOTE = ("POSTs need the session cookie and the CSRF token (cookie `csrftoken`, sent back as the "
             "`X-CSRFToken` header) that GET /api/session sets.")

VIEW = {"type": "string", "enum": ["served", "original"],
        "description": "the image the model guesses on: the round's served bytes, or (a model registered by its "
                       "predictions) the dataset's original file"}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "safe to show; every /api/ error is this JSON, 500 included"},
        "offer": {"allOf": [_ref("GameCreate")], "description": "409 on join: the same game, fresh"}}},
    "Session": {"type": "object", "properties": {
        "player": {"type": "string", "enum": ["guest", "user"]}, "name": {"type": ["string", "null"]}}},
    "Profile": {"type": "object", "properties": {
        "player": {"type": "string", "enum": ["guest", "user"]}, "name": {"type": ["string", "null"]},
        "display_name": {"type": ["string", "null"], "description": "the latest seat name"},
        "games": {"type": "integer"}, "rounds": {"type": "integer"}, "counted_rounds": {"type": "integer"},
        "mean_points": {"type": ["number", "null"]},
        "models": {"type": "array", "items": {"type": "object", "properties": {
            "model": {"type": "string"}, "rounds": {"type": "integer"}, "wins": {"type": "integer"},
            "ties": {"type": "integer"}, "losses": {"type": "integer"}}}},
        "rating": {"type": "object", "properties": {
            "points": {"type": "array", "items": {"type": "object", "properties": {
                "game": {"type": "string"}, "played_at": {"type": "string", "format": "date-time"},
                "counted_rounds": {"type": "integer"}, "rating": {"type": "number"}}}},
            "anchor": {"type": ["string", "null"]}, "anchor_rating": {"type": "number"},
            "provisional": {"type": "boolean"}, "definition": {"type": "string"}}}}},
    "Catalogue": {"type": "object", "properties": {
        "sets": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "panoramas": {"type": "integer"},
            "views": {"type": "integer", "description": "pictures: one per panorama, each view of a multi-view place"},
            "licence": {"type": "string"}, "attribution": {"type": "string"}}}},
        "models": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "kind": {"type": "string", "enum": ["planet", "knn", "external"]},
            "view": VIEW, "description": {"type": "string"},
            "checkpoint_sha256": {"type": "string"}, "default": {"type": "boolean"}}}},
        "countries": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
                      "description": "ISO 3166-1 alpha-2 codes a country-streak guess may name"}}},
    "GameCreate": {"type": "object", "required": ["set"], "properties": {
        "set": {"type": "string", "description": "a panorama set's name"},
        "rounds": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5,
                   "description": "distance games; a country streak starts with one round and grows"},
        "goal": {"type": "string", "enum": ["distance", "country"], "default": "distance",
                 "description": "distance: place a point, GeoGuessr points; country: a country streak (name the "
                                "country; the first wrong one ends the game; played alone)"},
        "time_limit_s": {"type": ["integer", "null"], "minimum": 5, "maximum": 3600, "default": None},
        "mode": {"type": "string", "enum": ["move", "no-move", "nmpz"], "default": "move"},
        "model": {"type": "string", "description": "a model version's name; the default model if left out"},
        "name": {"type": "string", "maxLength": 40, "description": "the creator's display name"}}},
    "Join": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 40}}},
    "Game": {"type": "object", "properties": {
        "game": {"type": "string"}, "set": {"type": "string"}, "model": {"type": "string"},
        "round_count": {"type": "integer"}, "time_limit_s": {"type": ["integer", "null"]},
        "mode": {"type": "string"}, "goal": {"type": "string", "enum": ["distance", "country"]},
        "joined": {"type": "boolean"},
        "streak": {"oneOf": [{"type": "null"}, _ref("Streak")],
                   "description": "a country streak's standing over its revealed rounds; null in a distance game"},
        "rounds": {"type": "array", "items": {"type": "object", "properties": {
            "number": {"type": "integer"}, "round": {"type": ["string", "null"]}, "locked": {"type": "boolean"},
            "revealed": {"type": "boolean", "description": "every seat locked, or the round closed"},
            "guessed": {"type": "integer", "description": "seats that have locked this round"},
            "points": {"type": ["integer", "null"], "description": "null until the round is revealed"},
            "model_points": {"type": ["integer", "null"]}}}},
        "joinable": {"type": "boolean", "description": "no round served yet"},
        "players": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "you": {"type": "boolean"},
            "rounds_played": {"type": "integer"}, "total_points": {"type": "integer",
                                                                  "description": "over revealed rounds only"}}}},
        "total_points": {"type": "integer"}, "total_model_points": {"type": "integer"},
        "finished": {"type": "boolean"},
        "daily": {"type": ["string", "null"], "format": "date",
                  "description": "the day of a daily challenge's try; null in any other game"},
        "rematch": {"type": ["string", "null"],
                    "description": "the room's next game, once a seat asked to play again"}}},
    "RoundView": {"type": "object", "description": "a round before the player's guess: no location at all",
                  "properties": {
                      "round": {"type": "string"}, "number": {"type": "integer"},
                      "kind": {"type": "string", "enum": ["photo", "equirectangular", "multiview"]},
                      "mode": {"type": "string"}, "goal": {"type": "string", "enum": ["distance", "country"]},
                      "image_url": {"type": "string",
                                                                "description": "the (first) view's JPEG"},
                      "views": {"type": "array", "description": "multiview only: every view served, in order",
                                "items": {"type": "object", "properties": {
                                    "image_url": {"type": "string"}, "name": {"type": "string"},
                                    "heading": {"type": ["number", "null"],
                                                "description": "the compass point the view faces, in degrees "
                                                               "(a multiple of 45: N, NE, ...), never its exact "
                                                               "heading"}}}},
                      "heading": {"type": ["number", "null"],
                                  "description": "the yaw a 360° panorama opens at, in its served (randomly turned) "
                                                 "frame; null for a photo"},
                      "deadline": {"type": ["string", "null"], "format": "date-time"},
                      "model_ready": {"type": "boolean"}, "locked": {"const": False}}},
    "Waiting": {"type": "object", "description": "a locked guess on a round some seat has not locked: the "
                "player's own guess and how many have guessed; no truth, model guess, distance or points",
                "properties": {
                    "round": {"type": "string"}, "number": {"type": "integer"}, "locked": {"const": True},
                    "revealed": {"const": False}, "human": _ref("Point"), "guessed": {"type": "integer"},
                    "players": {"type": "integer"}, "deadline": {"type": ["string", "null"], "format": "date-time"}}},
    "Streak": {"type": "object", "description": "both streaks on the same rounds: rounds right in a row from "
               "the first", "properties": {
                   "human": {"type": "integer"}, "model": {"type": "integer", "description": "PlaNet's, on the "
                                                                                             "rounds the player saw"},
                   "rounds": {"type": "integer", "description": "rounds revealed so far"},
                   "model_alive": {"type": "boolean", "description": "PlaNet named every one of those rounds"},
                   "over": {"type": "boolean", "description": "game summary: the streak has ended"},
                   "ended": {"type": "boolean", "description": "reveal: this round ended the player's streak"}}},
    "Point": {"type": "object", "properties": {
        "latitude": {"type": ["number", "null"]}, "longitude": {"type": ["number", "null"]}}},
    "Reveal": {"type": "object", "description": "a round after the player's guess is locked (a country streak's: "
               "countries and `streak`, no km, points, winners or thresholds)", "properties": {
        "round": {"type": "string"}, "number": {"type": "integer"}, "locked": {"const": True},
        "goal": {"type": "string", "enum": ["country"], "description": "present in a country streak's reveal"},
        "streak": _ref("Streak"),
        "revealed": {"const": True},
        "repeated": {"type": "boolean", "description": "POST only: true when the guess was already locked"},
        "counted": {"type": "boolean", "description": "whether the round enters the benchmark (the open tier)"},
        "tier": {"type": "string", "enum": ["verified", "open", "excluded"],
                 "description": "the round's benchmark tier as far as the player is told (anomaly flags and "
                                "suspicion are for staff and researchers only)"},
        "tier_reasons": {"type": "array", "items": {"type": "string"},
                         "description": "why the round is open (guest, public_set, ...) or excluded"},
        "truth": {"allOf": [_ref("Point")], "properties": {
            "country": {"type": "string"}, "continent": {"type": "string"}}},
        "human": {"allOf": [_ref("Point")], "properties": {
            "timed_out": {"type": "boolean"}, "km": {"type": ["number", "null"]}, "points": {"type": "integer"},
            "country": {"type": ["string", "null"], "description": "country streak: the country named"},
            "right": {"type": "boolean", "description": "country streak: it is the true country"}}},
        "model": {"type": "object", "properties": {
            "country": {"type": ["string", "null"], "description": "country streak: the country of its point"},
            "right": {"type": "boolean", "description": "country streak: it is the true country"},
            "status": {"type": "string", "enum": ["pending", "ready", "unavailable"]},
            "latitude": {"type": "number"}, "longitude": {"type": "number"}, "km": {"type": "number"},
            "points": {"type": "integer"}, "checkpoint_sha256": {"type": "string"}, "view": VIEW,
            "top_cells": {"type": "array", "items": _ref("Cell")}}},
        "winners": {"type": "object", "properties": {name: OUTCOME for name in THRESHOLD_NAMES},
                    "description": "per radius of `thresholds`: tie when both are inside or both outside"},
        "thresholds": {"type": "array", "description": "the radii judged at, in order",
                       "items": {"type": "object", "properties": {
                           "name": {"type": "string", "enum": list(THRESHOLD_NAMES)}, "km": {"type": "number"}}}},
        "head_to_head": OUTCOME,
        "opponents": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "latitude": {"type": ["number", "null"]},
            "longitude": {"type": ["number", "null"]}, "timed_out": {"type": "boolean"},
            "km": {"type": ["number", "null"]}, "points": {"type": "integer"}}}},
        "attribution": {"type": "string"}, "licence": {"type": "string"}}},
    "Cell": {"type": "object", "properties": {
        "token": {"type": "string", "description": "S2 cell token"}, "probability": {"type": "number"},
        "latitude": {"type": "number"}, "longitude": {"type": "number"},
        "polygon": {"type": "array", "items": {"type": "array", "items": {"type": "number"}},
                    "description": "[latitude, longitude] vertices"}}},
    "Guess": {"type": "object", "description": "latitude and longitude; in a country streak's round country "
              "instead; or timed_out: true", "properties": {
        "country": {"type": "string", "pattern": "^[A-Za-z]{2}$",
                    "description": "ISO 3166-1 alpha-2, one of the catalogue's countries"},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "timed_out": {"type": "boolean"}}},
}

WEBSOCKET = (
    "Live round state: connect to `ws://HOST/ws/games/{game_id}` (same origin). The socket only sends JSON "
    "events `{event, round, ...}`: player_joined (name, players), round_started, model_ready, "
    "player_guessed (name, guesses, players), round_complete (every seat has locked: the reveal, for all at "
    "once). A frame from the client closes the socket (4008, with a reason): act through the HTTP API. "
    "Events never carry a location; after round_complete, or at the deadline, GET /api/rounds/{round_id} "
    "gives the reveal."
)


def schema() -> dict[str, Any]:
    game_ok = _json(_ref("Game"), "the game as this player sees it")
    return {
        "openapi": "3.1.0",
        "info": {"title": "PlaNet Arena API", "version": "1.0",
                 "description": f"The JSON API the browser game uses. {POST_NOTE}\n\n{WEBSOCKET}"},
        "paths": {
            "/api/session": {"get": {
                "summary": "Start a guest session (or name the signed-in account); sets the CSRF cookie",
                "responses": {"200": _json(_ref("Session"), "who is playing")}}},
            "/api/catalogue": {"get": {
                "summary": "Panorama sets and model versions a game can use",
                "responses": {"200": _json(_ref("Catalogue"), "sets and models")}}},
            "/api/schema": {"get": {"summary": "This document",
                                    "responses": {"200": {"description": "OpenAPI 3.1 JSON"}}}},
            "/api/games": {"post": {
                "summary": "Create a game of N rounds drawn without repeats; the creator is its first player",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("GameCreate")}}},
                "responses": {"201": game_ok, **_errors(400, 404, 429)}}},
            "/api/games/{game_id}": {"parameters": [GAME_ID], "get": {
                "summary": "The game, this player's rounds and points, and the room's standings",
                "responses": {"200": game_ok, **_errors(404)}}},
            "/api/games/{game_id}/join": {"parameters": [GAME_ID], "post": {
                "summary": "Take a seat in the game's room before its first round is served; one seat per account "
                           "and per browser; joining twice keeps one seat",
                "requestBody": {"content": {"application/json": {"schema": _ref("Join")}}},
                "responses": {"200": game_ok, **_errors(400, 404, 409, 429)}}},
            "/api/daily": {"post": {
                "summary": "Today's daily challenge (UTC): the same five rounds for everyone, one try; returns this "
                           "player's try (a new game, or the one already started)",
                "requestBody": {"content": {"application/json": {"schema": _ref("Join")}}},
                "responses": {"200": game_ok, **_errors(400, 429)}}},
            "/api/daily/leaderboard": {"get": {
                "summary": "A day's finished tries, best first, with PlaNet's mean total over them; points only",
                "parameters": [{"name": "day", "in": "query", "required": False,
                                "schema": {"type": "string", "format": "date"}, "description": "default: today (UTC)"}],
                "responses": {"200": _json({"type": "object"}, "the day, its leaderboard rows and `you`: this "
                                           "player's own try (points, finished, on_board, rank, of) or null"),
                              **_errors(400)}}},
            "/api/games/{game_id}/rematch": {"parameters": [GAME_ID], "post": {
                "summary": "Play again as a room: the first seat to ask creates the next game (same settings) and "
                           "the room hears of it (`rematch` event); every later seat is seated in that game",
                "requestBody": {"content": {"application/json": {"schema": _ref("Join")}}},
                "responses": {"200": game_ok, **_errors(400, 403, 404, 409, 429)}}},
            "/api/games/{game_id}/rounds/{number}/start": {
                "parameters": [GAME_ID, _path_id("number", "1-based round number", "integer")],
                "post": {"summary": "Serve a round: starts its clock once and asks the model on the same pixels",
                         "responses": {"200": _json(_ref("RoundView"), "the round, no location"),
                                       **_errors(403, 404)}}},
            "/api/rounds/{round_id}": {"parameters": [ROUND_ID], "get": {
                "summary": "The round: its view before this player's guess; after it, the reveal once every seat "
                           "has locked or the round closed, else who has guessed",
                "responses": {"200": _json({"oneOf": [_ref("RoundView"), _ref("Waiting"), _ref("Reveal")]},
                                           "view, waiting or reveal"),
                              **_errors(403, 404)}}},
            "/api/rounds/{round_id}/image": {"parameters": [ROUND_ID], "get": {
                "summary": "The served image, to the game's players: a re-encoded JPEG without metadata",
                "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}}, **_errors(403, 404)}}},
            "/api/rounds/{round_id}/views/{number}": {
                "parameters": [ROUND_ID, _path_id("number", "0-based view of a multi-view round", "integer")],
                "get": {"summary": "One served view of a multi-view round, to the game's players: its own "
                                   "re-encoded JPEG without metadata",
                        "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}},
                                      **_errors(403, 404)}}},
            "/api/rounds/{round_id}/guess": {"parameters": [ROUND_ID], "post": {
                "summary": "Lock this player's guess (or timeout): the reveal if every seat has locked, else "
                           "who has guessed; repeating it changes nothing",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Guess")}}},
                "responses": {"201": _json({"oneOf": [_ref("Reveal"), _ref("Waiting")]}, "locked now"),
                              "200": _json({"oneOf": [_ref("Reveal"), _ref("Waiting")]},
                                           "was already locked (repeated: true)"),
                              **_errors(400, 403, 404, 429)}}},
            "/api/profile": {"get": {
                "summary": "This player's profile (the signed-in account, else this browser's guest session): "
                           "games, rounds and mean points of finished games, wins/ties/losses against each model "
                           "over counted rounds, and the rating after each game",
                "responses": {"200": _json(_ref("Profile"), "the profile")}}},
            "/api/profile/data": {"get": {
                "summary": "A signed-in player's own rounds of finished games, as export rows (a file to keep)",
                "responses": {"200": {"description": "player_id, rounds and rows (see the datasheet)"},
                              **_errors(401)}}},
            "/api/profile/delete": {"post": {
                "summary": "Delete a signed-in player's rounds (their guesses and seats; games left empty go too): "
                           "they leave every later export. The body must be {\"confirm\": \"delete\"}",
                "responses": {"200": {"description": "how many guesses, seats and games were deleted"},
                              **_errors(400, 401)}}},
            "/api/stats/benchmark": {"get": {
                "summary": "Every benchmark table of one tier over the rounds of finished games: tier=verified "
                           "(the default and the headline) or open (every counted round); optional filters set, "
                           "model, mode; suspicious=include counts rounds flagged as suspicious in the open tier. "
                           "`tiers` gives both tiers' sizes and why open rounds are not verified",
                "parameters": [*STATS_FILTERS, {"name": "suspicious", "in": "query", "required": False,
                                                "schema": {"type": "string", "enum": ["include"]}},
                               {"name": "tier", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": ["verified", "open"], "default": "verified"}}],
                "responses": {"200": {"description": "thresholds, head to head, errors, paired analysis, "
                                                     "breakdowns, ratings, exclusions"},
                              "400": _json(_ref("Error"), "a filter names no set, model or mode")}}},
            "/api/stats/export": {"get": {
                "summary": "One row per player-round as CSV, JSON lines or Parquet (researchers and admins)",
                "parameters": [*STATS_FILTERS, {"name": "format", "in": "query", "schema": {
                    "type": "string", "enum": ["csv", "jsonl", "parquet"], "default": "csv"}}],
                "responses": {"200": {"description": "the export file"},
                              "401": _json(_ref("Error"), "not signed in"),
                              "403": _json(_ref("Error"), "not a researcher or admin"), **_errors(400)}}},
        },
        "components": {"schemas": SCHEMAS},
    }
