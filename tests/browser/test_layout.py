"""Layouts that fit: on a 1366x768 or 1366x800 laptop and on a 390x844 phone, the lobby's Play button and, in a
round, the photo, the guess map and the Guess button are all on screen without scrolling, solo, in a room and in a
country streak (whose country list sits under the map). The lobby has no field under another (the set list once ran
~200 px under the model list), every field inside its panel (Goal stuck 92 px out), no sideways scrolling on a phone
(the page was 610 px wide) and no list cut off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import ARENA_SET, BrowserGuard, expect_really_visible, guarded_page
from tests.browser.test_game import start_game_in_lobby, wait_for_photo

SCREENS = {
    "laptop-768": {"width": 1366, "height": 768},
    "laptop-800": {"width": 1366, "height": 800},
    "phone": {"width": 390, "height": 844},
}


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Browser, guard: BrowserGuard, arena_server: str) -> Iterator[Page]:
    phone = request.param == "phone"
    with guarded_page(
        browser, guard, base_url=arena_server, viewport=SCREENS[request.param], is_mobile=phone, has_touch=phone
    ) as page:
        yield page


def assert_on_screen(page: Page, *selectors: str) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    assert page.evaluate("() => window.scrollY") == 0
    for selector in selectors:
        box = page.locator(selector).bounding_box()
        assert box is not None, f"{selector} is not shown"
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (
            f"{selector} spans y {box['y']:.0f}..{box['y'] + box['height']:.0f} on a {viewport['height']} px screen"
        )
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{selector} leaves the screen sideways"


def test_the_lobby_and_a_solo_round_fit_the_screen(screen: Page) -> None:
    screen.goto("/")
    expect(screen.locator("#set option")).not_to_have_count(0)
    assert_on_screen(screen, "#play-solo")
    start_game_in_lobby(screen, rounds=1, name="Ada")
    wait_for_photo(screen)
    assert_on_screen(screen, "#viewer", "#guess-map", "#guess-button")


def test_a_room_round_fits_the_screen(screen: Page) -> None:
    start_game_in_lobby(screen, rounds=1, name="Host", room=True)
    screen.click("#start-button")
    wait_for_photo(screen)
    assert_on_screen(screen, "#viewer", "#guess-map", "#guess-button")


def test_a_country_streak_round_fits_a_phone(phone_page: Page) -> None:
    phone_page.goto("/")
    expect(phone_page.locator("#set option")).not_to_have_count(0)
    rounds = phone_page.locator("#rounds")
    expect(rounds).to_be_enabled()
    phone_page.select_option("#goal", "country")
    expect(rounds).to_be_disabled()  # a streak goes on until a miss: it has no number of rounds
    phone_page.select_option("#goal", "distance")
    expect(rounds).to_be_enabled()
    phone_page.select_option("#goal", "country")
    expect(rounds).to_be_disabled()
    phone_page.fill("#name", "Ada")
    phone_page.select_option("#set", ARENA_SET)
    phone_page.click("#play-solo")
    expect(phone_page.locator("#round-title")).to_have_text("Round 1 · streak 0")
    wait_for_photo(phone_page)
    expect(phone_page.locator("#country-select option[value=FR]")).to_have_count(1)
    assert_on_screen(phone_page, "#viewer", "#guess-map", "#country-box", "#guess-button")
    phone_page.select_option("#country-select", "FR")  # the chosen name beside the list must not push it off
    expect(phone_page.locator("#country-choice")).to_have_text("France")
    assert_on_screen(phone_page, "#viewer", "#guess-map", "#country-box", "#guess-button")
    expect_really_visible(phone_page.locator("#guess-button"))
    assert phone_page.evaluate("document.documentElement.scrollHeight") <= 844


# Each interactive element of a container that overlaps another, or leaves the container, or is narrower than
# its own content (a select whose chosen option is cut): a list of sentences, empty when all is well.
LAYOUT_PROBLEMS = """container => {
    const problems = [];
    const panel = container.getBoundingClientRect();
    const measure = document.createElement('canvas').getContext('2d');
    const name = (e) => e.id ? '#' + e.id : e.tagName.toLowerCase() + (e.name ? `[name=${e.name}]` : '');
    const controls = [...container.querySelectorAll('input, select, button, textarea')]
        .filter((e) => e.checkVisibility() && e.type !== 'radio');
    const boxes = controls.map((e) => [e, e.getBoundingClientRect()]);
    for (const [e, b] of boxes) {
        if (b.left < panel.left - 0.5 || b.right > panel.right + 0.5 || b.top < panel.top - 0.5 ||
            b.bottom > panel.bottom + 0.5)
            problems.push(`${name(e)} leaves its panel (x ${b.left | 0}..${b.right | 0} in ${panel.left | 0}..` +
                `${panel.right | 0})`);
        if (e.tagName === 'SELECT') {
            // What a closed list shows is its chosen option's text, between its padding and its arrow (~20 px).
            const style = getComputedStyle(e);
            const room = e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
            measure.font = style.font;
            for (const option of e.options) {
                const needs = measure.measureText(option.text).width;
                if (needs > room) problems.push(`${name(e)} cuts "${option.text}" (${needs | 0} px in ${room | 0})`);
            }
        }
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const [a, p] = boxes[i], [b, q] = boxes[j];
        const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (x > 0.5 && y > 0.5) problems.push(`${name(a)} overlaps ${name(b)} by ${x | 0}x${y | 0} px`);
    }
    return problems;
}"""

# A longer set name than the test sets', as an operator's import may give: the list must still show it whole.
LONG_SET = {"name": "osv5m-street-level-demo-2026", "panoramas": 1200, "views": 3600}


def test_the_lobby_has_no_overlaps_no_cut_lists_and_no_sideways_scroll(screen: Page) -> None:
    # The catalogue as it comes, plus one longer set name.
    def longer_catalogue(route: Route) -> None:
        response = route.fetch()
        catalogue = response.json()
        catalogue["sets"].append(LONG_SET)
        route.fulfill(response=response, json=catalogue)

    screen.route("**/api/catalogue", longer_catalogue)
    screen.goto("/")
    expect(screen.locator("#set option")).not_to_have_count(0)
    screen.select_option("#set", str(LONG_SET["name"]))
    width = screen.viewport_size["width"] if screen.viewport_size else 0
    assert screen.evaluate("document.documentElement.scrollWidth") <= width, "the lobby scrolls sideways"
    for form in ("#new-game", "#join-room"):
        assert screen.locator(form).evaluate(LAYOUT_PROBLEMS) == [], form
    expect_really_visible(screen.locator("#play-solo"))
