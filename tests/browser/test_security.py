"""Stored XSS and the Content-Security-Policy, in real Chromium: every string a player or an admin controls
(player names in a room, set name, attribution, licence, model name and description) carries a script, and
every page that shows it (lobby, game, reveal with its map tooltips, room, summary, benchmark, admin) must show
it as text. A dialog, `window.__pwned`, a console error (a refused inline handler is one) or a missing
policy fails the test."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Response, expect

from tests.browser.conftest import DESKTOP_VIEWPORT, BrowserGuard, guarded_page
from tests.browser.test_game import guess_by_clicking, wait_for_photo

# Each payload runs if it is ever parsed as HTML: an alert (a dialog) or a global set. At most 40 characters,
# a player name's limit.
HOST_NAME = "<img src=x onerror=alert('host')>"
GUEST_NAMES = ("<img src=x onerror=window.__pwned=1>", "\"><script>alert('g')</script>")
SET_NAME = "<img src=x onerror=alert('set')>"
MODEL_NAME = "<img src=x onerror=alert('model')>"
MODEL_DESCRIPTION = "<img src=x onerror=window.__pwned=2> model"
ATTRIBUTION = "<img src=x onerror=alert('attribution')> photo"
LICENCE = "<svg onload=alert('licence')>"
ADMIN_USER, ADMIN_PASSWORD = "xss-admin", "a-long-test-password-1"
MODEL_TIMEOUT_MS = 60_000


class ScriptWatch:
    """Dialogs opened by any watched page: each one is a script that ran."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("dialog", self._on_dialog)
        return page

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message} on {dialog.page.url if dialog.page else '?'}")
        dialog.dismiss()

    def assert_nothing_ran(self, page: Page) -> None:
        assert not self.dialogs, f"a payload ran: {self.dialogs}"
        assert page.evaluate("() => window.__pwned") is None, f"a payload set window.__pwned on {page.url}"


def expect_policy(response: Response | None) -> None:
    """The page came with a strict policy: scripts and styles from this server only, nothing inline."""
    assert response is not None and response.ok, response
    policy = response.headers.get("content-security-policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives.get("script-src") == ["'self'"], policy
    assert directives.get("style-src") == ["'self'"], policy
    assert directives.get("object-src") == ["'none'"] and "frame-ancestors" in directives, policy
    assert "content-security-policy-report-only" not in response.headers


@pytest.fixture(scope="module")
def hostile_catalogue(
    arena_manage: Callable[..., None],
    synthetic_set_writer: Callable[..., Path],
    tmp_path_factory: pytest.TempPathFactory,
    tiny_checkpoint: Path,
) -> Iterator[None]:
    """A set whose attribution and licence carry scripts and a model registered beside the default one, then
    renamed (its family too: a model is asked for by family) and described with scripts, and a superuser. Set and
    model names are slugs when created (the import and register_model refuse others), so the names are written
    straight to the database: the pages must show any stored string as text, whatever a validator lets through."""
    manifest = synthetic_set_writer(tmp_path_factory.mktemp("xss-source"), per_region=1, seed=7, size=(640, 480))
    imported = ["import_panoramas", "--manifest", str(manifest), "--name", "xss-set", "--licence", LICENCE]
    imported += ["--attribution", ATTRIBUTION, "-v", "0"]
    script = f"""
from django.contrib.auth import get_user_model
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import PanoramaSet
PanoramaSet.objects.filter(name="xss-set").update(name={json.dumps(SET_NAME)})
ModelVersion.objects.filter(name="xss-model").update(name={json.dumps(MODEL_NAME)}, family={json.dumps(MODEL_NAME)},
                                                     description={json.dumps(MODEL_DESCRIPTION)})
get_user_model().objects.create_superuser({json.dumps(ADMIN_USER)}, "", {json.dumps(ADMIN_PASSWORD)})
"""
    arena_manage(
        imported,
        ["register_model", "--name", "xss-model", "--checkpoint", str(tiny_checkpoint)],
        ["shell", "-c", script],
    )
    yield


def reveal_tooltips(page: Page, panel: str) -> list[str]:
    """Open every other player's tooltip (Leaflet sets a tooltip's content when it opens) and read them."""
    # Once PlaNet's guess is drawn, nothing redraws the map (a redraw would close the tooltips being read).
    expect(page.locator(f"{panel} .map-pin.model").first).to_be_attached(timeout=MODEL_TIMEOUT_MS)
    pins = page.locator(f"{panel} .map-pin.other")
    for index in range(pins.count()):
        pins.nth(index).dispatch_event("mouseover")
    expect(page.locator(f"{panel} .leaflet-tooltip")).to_have_count(pins.count())
    page.wait_for_timeout(300)  # an <img src=x> payload's error event comes after its request
    return page.locator(f"{panel} .leaflet-tooltip").all_inner_texts()


def test_hostile_strings_show_as_text_on_every_page(
    browser: Browser, guard: BrowserGuard, arena_server: str, hostile_catalogue: None
) -> None:
    scripts = ScriptWatch()
    with ExitStack() as pages:
        host, *guests = (
            scripts.watch(
                pages.enter_context(guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT))
            )
            for _ in range(3)
        )

        # The lobby lists the hostile set and model; the host opens a room on them under a hostile name.
        expect_policy(host.goto("/"))
        expect(host.locator("#set option", has_text=SET_NAME)).to_have_count(1)
        expect(host.locator("#model option", has_text=MODEL_NAME)).to_have_count(1)
        host.fill("#name", HOST_NAME)
        host.select_option("#set", SET_NAME)
        host.select_option("#model", MODEL_NAME)
        host.fill("#rounds", "1")
        host.click("#create-room")
        host.wait_for_url(re.compile(r"/play/[A-Za-z0-9_-]+"))
        game = host.url.split("/play/")[1].split("?")[0]
        expect(host.locator("#start-button")).to_be_visible()

        # Both guests join before the host starts; the standings and the join toasts name everyone.
        for guest, name in zip(guests, GUEST_NAMES, strict=True):
            expect_policy(guest.goto(f"/play/{game}"))
            guest.fill("#join-name", name)
            guest.click("#join-form button[type=submit]")
            expect(guest.locator("#room-wait")).to_contain_text("host")
            expect(host.locator("#standings")).to_contain_text(name)
        expect(host.locator("#standings")).to_contain_text(HOST_NAME)
        host.click("#start-button")

        # Everyone guesses; the reveal comes once all three have locked.
        for index, player in enumerate([host, *guests]):
            expect(player.locator("#round-title")).to_have_text("Round 1 of 1")
            wait_for_photo(player)
            guess_by_clicking(player, x=0.3 + 0.2 * index, y=0.4)
            player.click("#guess-button")
        names = [HOST_NAME, *GUEST_NAMES]
        for index, player in enumerate([host, *guests]):
            others = [name for number, name in enumerate(names) if number != index]
            expect(player.locator("#reveal-panel .map-pin.other")).to_have_count(2, timeout=MODEL_TIMEOUT_MS)
            for name in others:
                expect(player.locator("#reveal-details")).to_contain_text(name)
            expect(player.locator("#reveal-details .attribution")).to_contain_text(ATTRIBUTION)
            expect(player.locator("#reveal-details .attribution")).to_contain_text(LICENCE)
            tooltips = reveal_tooltips(player, "#reveal-panel")
            scripts.assert_nothing_ran(player)
            assert sorted(tooltips) == sorted(others)

        # The summary: the map's tooltips again and the standings.
        host.click("#next-button")
        expect(host.locator("#summary-panel")).to_be_visible()
        for name in names:
            expect(host.locator("#summary-details")).to_contain_text(name)
        tooltips = reveal_tooltips(host, "#summary-panel")
        scripts.assert_nothing_ran(host)
        assert sorted(tooltips) == sorted(GUEST_NAMES)

        # The benchmark page (players appear there as hashed ids): the filters, ratings and breakdowns name the
        # set and the model.
        expect_policy(host.goto("/stats"))
        expect(host.locator("#stats")).to_be_visible()
        expect(host.locator("#filter-set option", has_text=SET_NAME)).to_have_count(1)
        expect(host.locator("#filter-model option", has_text=MODEL_NAME)).to_have_count(1)
        host.select_option("#filter-tier", "open")  # guests' rounds: the open tier
        # Ranked, or listed apart when no chain of rounds links it to the anchor (the suite's other games are
        # against the default model; this room's players played only the hostile one).
        expect(host.locator("section[aria-labelledby=ratings-title]")).to_contain_text(MODEL_NAME)
        for dimension, shown in (("panorama_set", SET_NAME), ("model_version", MODEL_NAME)):
            host.select_option("#breakdown-by", dimension)
            expect(host.locator("#breakdown-table")).to_contain_text(shown)
        scripts.assert_nothing_ran(host)


def test_the_admin_shows_hostile_strings_as_text_under_the_policy(
    browser: Browser, guard: BrowserGuard, arena_server: str, hostile_catalogue: None
) -> None:
    scripts = ScriptWatch()
    with guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as admin:
        scripts.watch(admin)
        expect_policy(admin.goto("/admin/login/"))
        admin.fill("#id_username", ADMIN_USER)
        admin.fill("#id_password", ADMIN_PASSWORD)
        admin.click("input[type=submit]")
        admin.wait_for_url("**/admin/")
        pages = {
            "/admin/": None,
            "/admin/panoramas/panoramaset/": [SET_NAME, LICENCE],
            "/admin/panoramas/panorama/": [SET_NAME],
            "/admin/inference/modelversion/": [MODEL_NAME, MODEL_DESCRIPTION],
            "/admin/games/flaggedguess/": None,
            "/admin/panoramas/panoramaset/upload/": None,
            "/admin/inference/modelversion/register/": None,
        }
        for path, texts in pages.items():
            expect_policy(admin.goto(path))
            for text in texts or []:
                expect(admin.locator("#content")).to_contain_text(text)
            scripts.assert_nothing_ran(admin)
        # The read-only detail pages: a panorama of the hostile set (its attribution), the set and the model.
        for listing, shown in (
            ("/admin/panoramas/panorama/", ATTRIBUTION),
            ("/admin/panoramas/panoramaset/", LICENCE),
            ("/admin/inference/modelversion/", MODEL_DESCRIPTION),
        ):
            admin.goto(listing)
            admin.locator(
                "#result_list tbody tr", has_text=SET_NAME if "panorama/" in listing else shown
            ).first.locator("th a").click()
            expect(admin.locator("#content")).to_contain_text(shown)
            scripts.assert_nothing_ran(admin)
        # The admin's own scripts still run under the policy: the theme toggle cycles the theme.
        admin.goto("/admin/panoramas/panorama/")
        before = admin.evaluate("() => document.documentElement.dataset.theme")
        admin.locator("button.theme-toggle").first.click()
        assert admin.evaluate("() => document.documentElement.dataset.theme") != before
        scripts.assert_nothing_ran(admin)
