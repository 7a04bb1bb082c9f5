"""Every /api/ error is JSON with a safe message, whoever raises it: a view (400), Django's URL resolver (404),
the method check (405), the CSRF check (403), the body size limit (413), the rate limiter (429) or a bug (500).
Pages outside /api/ keep Django's own (non-debug) pages."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) <= {"error", "offer"} and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in body["error"] and "File " not in body["error"]
    return body


def test_unknown_api_paths_and_ids_are_json_404():
    client = Client()
    assert_json_error(client.get("/api/no-such-thing"), 404)
    assert_json_error(client.get("/api/games/nope"), 404)


def test_a_wrong_method_is_json_405_with_its_allow_header():
    response = Client().get("/api/games")
    assert_json_error(response, 405)
    assert response["Allow"] == "POST"


def test_a_post_without_the_csrf_token_is_json_403():
    client = Client(enforce_csrf_checks=True)
    client.get("/api/session")
    assert_json_error(client.post("/api/games", data="{}", content_type="application/json"), 403)


def test_a_body_past_the_upload_limit_is_json_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"set": "x", "name": "a" * 2000})
    assert_json_error(Client().post("/api/games", data=body, content_type="application/json"), 413)


def test_bad_input_is_json_400():
    assert_json_error(Client().post("/api/games", data="not json", content_type="application/json"), 400)


def test_pages_outside_the_api_keep_html_errors():
    response = Client().get("/play/nope")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert b"Traceback" not in response.content and b"technical" not in response.content.lower()
