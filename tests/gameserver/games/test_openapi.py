"""The served OpenAPI document names every API route with its methods, and its references resolve."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import URLPattern

from gameserver.accounts import api_urls as account_urls
from gameserver.games import urls
from gameserver.games.openapi import schema
from gameserver.stats import urls as stats_urls


def openapi_path(pattern: URLPattern, prefix: str) -> str:
    return prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))


def allowed_methods(pattern: URLPattern) -> set[str]:
    """The methods a view admits (its require_GET / require_POST), found by calling it with each."""
    kwargs = {name: 1 if name == "number" else "unknown" for name in pattern.pattern.converters}
    requests = {
        "get": RequestFactory().get("/"),
        "post": RequestFactory().post("/", data="{}", content_type="application/json"),
    }
    allowed = set()
    for method, request in requests.items():
        request.session, request.user = SessionStore(), AnonymousUser()
        if pattern.callback(request, **kwargs).status_code != 405:
            allowed.add(method)
    return allowed


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


@pytest.mark.django_db
def test_the_served_schema_documents_every_route_with_its_methods():
    document = Client().get("/api/schema").json()
    assert document["openapi"] == "3.1.0"
    documented = {path: {m for m in item if m in ("get", "post")} for path, item in document["paths"].items()}
    routes = {openapi_path(pattern, "/api/"): pattern for pattern in urls.urlpatterns}
    routes |= {openapi_path(pattern, "/api/stats/"): pattern for pattern in stats_urls.urlpatterns}
    routes |= {openapi_path(pattern, "/api/"): pattern for pattern in account_urls.urlpatterns}
    assert set(documented) == set(routes)
    for path, pattern in routes.items():
        assert documented[path] == allowed_methods(pattern), path


def test_every_reference_in_the_schema_resolves():
    document = schema()
    names = document["components"]["schemas"]
    found = refs(document)
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in names, ref
