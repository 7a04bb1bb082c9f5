"""The per-address limits key on the client's address: the peer's own, or, when the peer is a proxy named in
PLANET_TRUSTED_PROXIES, the nearest address its X-Forwarded-For names that is not a trusted proxy. Behind a proxy
that is not trusted every client shares its address (one allowance for all); a client that writes its own
X-Forwarded-For gains nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from gameserver.games.models import Game

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"


def create_game(synthetic: str, *, peer: str, forwarded: str | None = None) -> int:
    headers: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return (
        Client(REMOTE_ADDR=peer)
        .post(
            "/api/games", data=json.dumps({"set": synthetic, "rounds": 1}), content_type="application/json", **headers
        )
        .status_code
    )


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "2/60"}
    settings.PLANET_TRUSTED_PROXIES = ("10.0.0.0/24",)
    first = [create_game(synthetic, peer=PROXY, forwarded="198.51.100.1") for _ in range(3)]
    assert first == [201, 201, 429]
    assert create_game(synthetic, peer=PROXY, forwarded="198.51.100.2") == 201  # another client, its own count
    # Two proxies deep, and a client that prepends an address of its choosing: keyed on 198.51.100.1 all the same.
    assert create_game(synthetic, peer=PROXY, forwarded="203.0.113.77, 198.51.100.1, 10.0.0.9") == 429
    assert Game.objects.count() == 3


def test_forwarded_headers_from_a_peer_that_is_not_a_trusted_proxy_are_ignored(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "2/60"}
    settings.PLANET_TRUSTED_PROXIES = ("10.0.0.0/24",)
    spoofed = [create_game(synthetic, peer="203.0.113.9", forwarded=f"198.51.100.{n}") for n in range(3)]
    assert spoofed == [201, 201, 429]  # one peer, one allowance, whatever it claims to forward


def test_with_no_trusted_proxy_configured_the_header_is_ignored(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "2/60"}
    settings.PLANET_TRUSTED_PROXIES = ()
    statuses = [create_game(synthetic, peer=PROXY, forwarded=f"198.51.100.{n}") for n in range(3)]
    assert statuses == [201, 201, 429]  # the README's production section says to configure the proxy


def test_a_forwarded_address_that_is_not_an_address_falls_back_to_the_proxy(settings, synthetic):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "games": "1/60"}
    settings.PLANET_TRUSTED_PROXIES = ("10.0.0.0/24",)
    assert create_game(synthetic, peer=PROXY, forwarded="not-an-address") == 201
    assert create_game(synthetic, peer=PROXY, forwarded="also, garbage") == 429  # both keyed on the proxy
