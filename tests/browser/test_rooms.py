"""A room shows each player only the buttons meant for them. One CSS rule (`button { display: inline-block }`) once
beat the `hidden` attribute: every join page offered a fresh game that did nothing, a guest's waiting panel had
"Start the game" (which blanked it), and the host's "guess locked" screen had "Next round" (which skipped the
room's reveal and jumped to round 2)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP_VIEWPORT, BrowserGuard, expect_really_visible, guarded_page
from tests.browser.test_game import MODEL_TIMEOUT_MS, guess_by_clicking, start_game_in_lobby, wait_for_photo


def test_a_room_shows_the_host_and_the_guest_only_their_own_buttons(
    browser: Browser, guard: BrowserGuard, arena_server: str
) -> None:
    with (
        guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as host,
        guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as guest,
    ):
        game = start_game_in_lobby(host, rounds=2, name="Host", room=True)
        expect_really_visible(host.locator("#start-button"))

        # The join page: one button to join; the fresh game is offered only to someone who comes too late.
        guest.goto(f"/play/{game}")
        expect_really_visible(guest.locator("#join-form button[type=submit]"))
        expect(guest.locator("#fresh-game-button")).to_be_hidden()
        guest.fill("#join-name", "Guest")
        guest.click("#join-form button[type=submit]")

        # The guest waits for the host: no Start button of their own.
        expect_really_visible(guest.locator("#room-wait"))
        expect(guest.locator("#room-wait")).to_contain_text("host")
        expect(guest.locator("#start-button")).to_be_hidden()
        expect(host.locator("#standings")).to_contain_text("Guest")
        host.click("#start-button")

        # The host locks first: a waiting screen with no way past the room's reveal.
        wait_for_photo(host)
        guess_by_clicking(host, x=0.4, y=0.4)
        host.click("#guess-button")
        expect_really_visible(host.locator("#waiting"))
        expect(host.locator("#waiting")).to_contain_text("1 of 2 have guessed")
        expect(host.locator("#next-button")).to_be_hidden()
        expect(host.locator("#reveal-map .map-pin.truth")).to_have_count(0)

        wait_for_photo(guest)
        guess_by_clicking(guest, x=0.6, y=0.6)
        guest.click("#guess-button")
        for player in (host, guest):
            expect(player.locator("#winners tbody tr")).to_have_count(6, timeout=MODEL_TIMEOUT_MS)
            expect(player.locator("#reveal-title")).to_have_text(re.compile(r"Round 1: [\d,]+ points"))
            expect_really_visible(player.locator("#next-button"))
        expect(host.locator("#next-button")).to_have_text("Next round")


def test_a_latecomer_is_offered_a_fresh_game_that_starts_it(
    browser: Browser, guard: BrowserGuard, arena_server: str
) -> None:
    with (
        guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as host,
        guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as latecomer,
    ):
        game = start_game_in_lobby(host, rounds=1, name="Host", room=True)
        host.click("#start-button")
        wait_for_photo(host)

        latecomer.goto(f"/play/{game}")
        expect(latecomer.locator("#fresh-game-button")).to_be_hidden()
        latecomer.fill("#join-name", "Late")
        latecomer.click("#join-form button[type=submit]")
        expect(latecomer.locator("#join-error")).to_be_visible()
        expect_really_visible(latecomer.locator("#fresh-game-button"))
        latecomer.click("#fresh-game-button")
        latecomer.wait_for_url(re.compile(r"/play/(?!" + game + r")[A-Za-z0-9_-]+$"))
        expect(latecomer.locator("#round-title")).to_have_text("Round 1 of 1")
        # The refused join is a 409 the page expects; Chromium logs that one response as an error.
        guard.console_errors[:] = [error for error in guard.console_errors if f"/api/games/{game}/join" not in error]
