"""A room's round after the player has locked, before everyone has: the screen keeps the photo, the player's own pin
on the map and the round's clock (it was one sentence), shows nothing of the truth, and on a phone a toast covers
neither the standings nor announces the player's own guess to them (also when the room's event for that guess
arrives before the guess's own answer)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import DESKTOP_VIEWPORT, PHONE_VIEWPORT, BrowserGuard, expect_really_visible, guarded_page
from tests.browser.test_game import create_game_by_api, guess_by_clicking, wait_for_photo

OVERLAP = """([a, b]) => {
    const p = document.querySelector(a).getBoundingClientRect(), q = document.querySelector(b).getBoundingClientRect();
    return Math.min(p.right, q.right) > Math.max(p.left, q.left) &&
        Math.min(p.bottom, q.bottom) > Math.max(p.top, q.top);
}"""


def open_timed_room(host: Page, guest: Page) -> None:
    game = create_game_by_api(host, set="browser-synthetic", rounds=1, time_limit_s=120, name="Host")
    host.goto(f"/play/{game}?room=1")
    expect(host.locator("#start-button")).to_be_visible()
    guest.goto(f"/play/{game}")
    guest.fill("#join-name", "Guest")
    guest.click("#join-form button[type=submit]")
    expect(host.locator("#standings")).to_contain_text("Guest")
    host.click("#start-button")


def test_the_locked_screen_shows_the_photo_the_own_pin_and_the_clock(
    browser: Browser, guard: BrowserGuard, arena_server: str
) -> None:
    with (
        guarded_page(
            browser, guard, base_url=arena_server, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True
        ) as host,
        guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as guest,
    ):
        host.add_init_script("""window.__toasts = [];
            new MutationObserver(() => { const t = document.querySelector('.toast');
                if (t && !t.hidden && t.textContent !== window.__toasts.at(-1)) window.__toasts.push(t.textContent);
            }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });""")
        open_timed_room(host, guest)

        def answer_late(route: Route) -> None:
            response = route.fetch()
            time.sleep(0.8)  # the room's event for this very guess reaches the page before the guess's answer
            route.fulfill(response=response)

        host.route(re.compile(r"/api/rounds/[^/]+/guess$"), answer_late)
        wait_for_photo(host)
        guess_by_clicking(host, x=0.5, y=0.5)
        host.locator("#guess-button").tap()

        expect(host.locator("#waiting")).to_contain_text("1 of 2 have guessed")
        expect_really_visible(host.locator("#reveal-map .map-pin.human"))
        expect(host.locator("#reveal-map .map-pin.truth")).to_have_count(0)
        expect(host.locator("#reveal-map .map-pin.model")).to_have_count(0)
        expect(host.locator("#waiting-photo")).to_be_visible()
        host.wait_for_function("() => document.getElementById('waiting-photo').naturalWidth > 0", polling=100)
        expect(host.locator("#waiting-clock")).to_have_text(re.compile(r"^Round closes in [01]:\d\d$"))
        assert host.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]

        wait_for_photo(guest)
        guess_by_clicking(guest, x=0.3, y=0.3)
        guest.click("#guess-button")
        # The guest's guess is toasted on the host's phone; it covers no standings, and the host's own was not.
        expect(host.locator(".toast")).to_contain_text("Guest guessed round 1")
        assert not host.evaluate(OVERLAP, [".toast", "#standings"])
        toasts = host.evaluate("() => window.__toasts")
        assert not [t for t in toasts if t.startswith("Host")], toasts
        expect(host.locator("#winners tbody tr")).to_have_count(6, timeout=60_000)


# Every element showing text of its own (or a map pin) whose box the toast's box meets.
COVERED_BY_TOAST = """() => {
    const toast = document.querySelector('.toast').getBoundingClientRect();
    const meets = (r) => Math.min(r.right, toast.right) > Math.max(r.left, toast.left) &&
        Math.min(r.bottom, toast.bottom) > Math.max(r.top, toast.top);
    return [...document.querySelectorAll('body *')].filter((node) => {
        if (node.closest('.toast') || node.contains(document.querySelector('.toast'))) return false;
        const own = [...node.childNodes].some((c) => c.nodeType === Node.TEXT_NODE && c.textContent.trim());
        const rect = node.getBoundingClientRect();
        const style = getComputedStyle(node);
        return (own || node.matches('.map-pin, button, a, input, select')) && rect.width > 0 && rect.height > 0 &&
            style.visibility !== 'hidden' && meets(rect);
    }).map((node) => `${node.tagName.toLowerCase()}#${node.id}: ${node.textContent.trim().slice(0, 40)}`);
}"""


def test_on_a_desktop_a_toast_covers_nothing_of_the_room_reveal(
    browser: Browser, guard: BrowserGuard, arena_server: str, screenshot: Callable[..., Path]
) -> None:
    # At the bottom right, "Guest guessed round 1 (2/2)" sat for seconds over the room's list on the host's reveal.
    for width in (1366, 840):
        viewport = {"width": width, "height": 768}
        with (
            guarded_page(browser, guard, base_url=arena_server, viewport=viewport) as host,
            guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as guest,
        ):
            open_timed_room(host, guest)
            wait_for_photo(host)
            guess_by_clicking(host, x=0.5, y=0.5)
            host.click("#guess-button")
            expect(host.locator("#waiting")).to_contain_text("1 of 2 have guessed")
            wait_for_photo(guest)
            guess_by_clicking(guest, x=0.3, y=0.3)
            guest.click("#guess-button")
            expect(host.locator(".toast")).to_contain_text("Guest guessed round 1")
            expect(host.locator("#reveal-title")).to_have_text(re.compile(r"Round 1: "))
            expect(host.locator("#reveal-details")).to_contain_text("Guest")
            covered = host.evaluate(COVERED_BY_TOAST)
            screenshot(host, f"room-reveal-toast-{width}")
            assert not covered, (width, covered)
            expect(host.locator(".toast")).to_contain_text("Guest guessed round 1")  # still up while checked
