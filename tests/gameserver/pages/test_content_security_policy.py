"""A strict Content-Security-Policy on every response, and templates it does not break: no inline script,
style element, style attribute or event handler (tests/browser/test_security.py drives the pages under it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from gameserver.settings import content_security_policy

pytestmark = pytest.mark.django_db
TEMPLATES = Path(settings.BASE_DIR) / "frontend" / "templates"


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize(
    "path", ["/", "/stats", "/admin/login/", "/api/catalogue", "/api/no-such-thing", "/static/arena/arena.css"]
)
def test_every_response_carries_the_policy(path: str):
    response = Client().get(path)
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert "Content-Security-Policy-Report-Only" not in response


def test_the_policy_allows_scripts_and_styles_from_this_server_only():
    policy = directives(settings.CONTENT_SECURITY_POLICY)
    assert policy["script-src"] == policy["style-src"] == policy["default-src"] == ["'self'"]
    assert policy["object-src"] == policy["base-uri"] == policy["frame-ancestors"] == ["'none'"]
    assert not re.search(r"unsafe-|\*|https?:", settings.CONTENT_SECURITY_POLICY)


def test_a_configured_tile_server_may_serve_images_only():
    policy = directives(content_security_policy(tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png"))
    assert policy["img-src"] == ["'self'", "data:", "blob:", "https://*.tiles.example.org"]
    assert policy["script-src"] == ["'self'"]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name)
def test_no_template_has_inline_script_or_style(template: Path):
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "<style> element"
    assert not re.search(r"\sstyle\s*=", html), "style attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "javascript:" not in html
