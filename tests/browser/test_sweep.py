"""Every page and state a player meets, at the two laptop screens and a phone: nothing scrolls sideways, no two
controls sit on one another, text meets WCAG AA contrast, and axe-core finds no serious or critical violation.

One server and one browser for the module; each flow runs once per viewport and audits each state it passes:
lobby, round, reveal, summary (solo); room waiting, locked (a guess in, the room still playing), room reveal;
country streak; daily (its last reveal and the page after it); profile; benchmark. axe-core (4.14.1, npm, MPL-2.0)
is vendored for the tests only (tests/browser/vendor/, with its licence) and injected by Playwright; the page
never loads it itself. Contrast is axe's `color-contrast` rule (WCAG AA: 4.5:1, 3:1 for large text), counted at
every impact level."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import BrowserGuard, guarded_page
from tests.browser.test_game import (
    MODEL_TIMEOUT_MS,
    guess_by_clicking,
    start_game_in_lobby,
    wait_for_map,
    wait_for_photo,
)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
VIEWPORTS = {
    "1366x768": {"width": 1366, "height": 768},
    "1366x800": {"width": 1366, "height": 800},
    "390x844": {"width": 390, "height": 844},
}
PHONE = "390x844"
# The controls a player clicks or taps. A focusable region (the photo, the map) is left out: it holds overlay
# controls on purpose (the view switcher over the photo, the zoom buttons on the map).
INTERACTIVE = "a[href], button, input, select, textarea, summary, [role=button]"
DAILY_ROUNDS = 5

# Problems a player would see in this state: the page wider than the screen, interactive elements on top of one
# another (an element and one inside it are not a clash; the map's own pins may meet, as guesses do).
LAYOUT_PROBLEMS = """selector => {
    const problems = [];
    const width = document.documentElement.scrollWidth;
    if (width > innerWidth) problems.push(`the page is ${width} px wide in a ${innerWidth} px viewport`);
    const shown = [...document.querySelectorAll(selector)].filter((element) =>
        element.checkVisibility({ opacityProperty: true, visibilityProperty: true })
        && !element.closest('.leaflet-marker-pane, .leaflet-tooltip-pane, .visually-hidden'));
    // Each line box of an element: a link that wraps has two, and the rectangle around both is no place on screen.
    const boxes = shown.flatMap((element) => [...element.getClientRects()].map((box) => [element, box]))
        .filter(([, box]) => box.width >= 1 && box.height >= 1);
    const name = (element) => element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
        (element.textContent.trim() ? ` "${element.textContent.trim().slice(0, 30)}"` : '');
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
    const seen = new Set();
    boxes.forEach(([element, box], i) => {
        for (const [other, otherBox] of boxes.slice(i + 1)) {
            if (element === other || element.contains(other) || other.contains(element)) continue;
            const clash = `${name(element)} overlaps ${name(other)}`;
            if (overlap(box, otherBox) && !seen.has(clash)) { seen.add(clash); problems.push(clash); }
        }
    });
    return problems;
}"""


def axe_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations, and every contrast violation, one line per element."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const outcome = await axe.run(document, { resultTypes: ['violations'] });
        return outcome.violations
            .filter((v) => ['serious', 'critical'].includes(v.impact) || v.id === 'color-contrast')
            .flatMap((v) => v.nodes.map((node) => `${v.id} (${v.impact}): ${node.target.join(' ')} - ` +
                (node.failureSummary || '').split('\\n').slice(1, 2).join('').trim()));
    }""")
    return list(result)


def audit(page: Page, state: str) -> None:
    """Every check of this module on the page as it is now; one failure lists all the state's problems."""
    page.wait_for_timeout(300)  # transitions and the names' redraw settle
    problems = page.evaluate(LAYOUT_PROBLEMS, INTERACTIVE) + axe_problems(page)
    assert not problems, f"{state}:\n  " + "\n  ".join(problems)


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def open_page(browser: Browser, guard: BrowserGuard, arena_server: str, viewport: str) -> AbstractContextManager[Page]:
    phone = viewport == PHONE
    return guarded_page(
        browser,
        guard,
        base_url=arena_server,
        viewport=VIEWPORTS[viewport],
        is_mobile=phone,
        has_touch=phone,
        bypass_csp=True,
    )  # axe is injected as an inline script


def test_a_solo_game(browser: Browser, guard: BrowserGuard, arena_server: str, viewport: str) -> None:
    with open_page(browser, guard, arena_server, viewport) as page:
        page.goto("/")
        expect(page.locator("#set option")).not_to_have_count(0)
        audit(page, "lobby")
        start_game_in_lobby(page, rounds=1, name="Ada")
        wait_for_photo(page)
        wait_for_map(page, "#guess-map")
        guess_by_clicking(page, x=0.5, y=0.45)
        audit(page, "round")
        page.click("#guess-button")
        expect(page.locator("#reveal-panel .map-pin.model")).to_have_count(1, timeout=MODEL_TIMEOUT_MS)
        audit(page, "reveal")
        page.click("#next-button")
        expect(page.locator("#summary-panel")).to_be_visible()
        audit(page, "summary")


def test_a_room(browser: Browser, guard: BrowserGuard, arena_server: str, viewport: str) -> None:
    with (
        open_page(browser, guard, arena_server, viewport) as host,
        open_page(browser, guard, arena_server, viewport) as guest,
    ):
        game = start_game_in_lobby(host, rounds=1, name="Host", room=True)
        guest.goto(f"/play/{game}")
        guest.fill("#join-name", "Guest")
        guest.click("#join-form button")
        expect(host.locator("#standings")).to_contain_text("Guest")
        audit(host, "room waiting (host)")
        audit(guest, "room waiting (guest)")
        host.click("#start-button")
        wait_for_photo(host)
        guess_by_clicking(host, x=0.5, y=0.5)
        host.click("#guess-button")
        wait_for_photo(guest)
        expect(host.locator("#guess-button")).to_be_hidden()
        audit(host, "locked (the room still playing)")
        guess_by_clicking(guest, x=0.4, y=0.5)
        guest.click("#guess-button")
        for player in (host, guest):
            expect(player.locator("#winners tbody tr")).to_have_count(6, timeout=MODEL_TIMEOUT_MS)
        audit(host, "room reveal")


def test_a_country_streak(browser: Browser, guard: BrowserGuard, arena_server: str, viewport: str) -> None:
    with open_page(browser, guard, arena_server, viewport) as page:
        page.goto("/")
        expect(page.locator("#set option")).not_to_have_count(0)
        page.fill("#name", "Ada")
        page.select_option("#goal", "country")
        page.click("#play-solo")
        page.wait_for_url(re.compile(r"/play/[A-Za-z0-9_-]+"))
        wait_for_photo(page)
        wait_for_map(page, "#guess-map")
        audit(page, "streak round")


def test_the_daily_challenge_to_its_end(
    browser: Browser, guard: BrowserGuard, arena_server: str, viewport: str
) -> None:
    with open_page(browser, guard, arena_server, viewport) as page:
        page.goto("/")
        expect(page.locator("#daily-button")).to_be_enabled()
        page.click("#daily-button")
        page.wait_for_url(re.compile(r"/play/[A-Za-z0-9_-]+$"))
        for number in range(1, DAILY_ROUNDS + 1):
            expect(page.locator("#round-title")).to_have_text(f"Round {number} of {DAILY_ROUNDS}")
            wait_for_photo(page)
            wait_for_map(page, "#guess-map")
            guess_by_clicking(page, x=0.5, y=0.45)
            page.click("#guess-button")
            expect(page.locator("#reveal-panel")).to_be_visible()
            if number < DAILY_ROUNDS:
                page.click("#next-button")
        audit(page, "daily, last reveal")
        page.click("#next-button")
        expect(page.locator("#summary-panel")).to_be_visible()
        audit(page, "daily end")


def test_the_profile_and_the_benchmark(browser: Browser, guard: BrowserGuard, arena_server: str, viewport: str) -> None:
    with open_page(browser, guard, arena_server, viewport) as page:
        page.goto("/profile")
        expect(page.locator("main")).to_be_visible()
        audit(page, "profile")
        page.goto("/stats")
        expect(page.locator("main")).to_be_visible()
        page.wait_for_load_state("networkidle")
        audit(page, "benchmark")
