"""A player who follows the benchmark page's export link without the right gets a page saying why (with a way to
sign in), not raw JSON; a program asking for JSON still gets the JSON error."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_without_the_right_gets_a_page_and_a_program_gets_json():
    guest = Client().get("/api/stats/export?format=csv", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert guest.status_code == 401 and guest["Content-Type"].startswith("text/html")
    page = guest.content.decode()
    assert "Round exports are for researchers" in page and "/accounts/sign-in?next=" in page

    player = Client()
    player.force_login(User.objects.create_user("player", password="correct horse battery 42"))
    refused = player.get("/api/stats/export?format=csv", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert refused.status_code == 403 and refused["Content-Type"].startswith("text/html")
    assert "researchers group" in refused.content.decode()

    program = player.get("/api/stats/export?format=csv", HTTP_ACCEPT="application/json")
    assert program.status_code == 403 and program.json() == {"error": "exports are for researchers and admins"}
