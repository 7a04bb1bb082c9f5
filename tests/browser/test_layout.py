"""Layouts that fit: on a 1366x768 or 1366x800 laptop and on a 390x844 phone, the lobby's Play button and, in a
round, the photo, the guess map and the Guess button are all on screen without scrolling, solo and in a room."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.browser.conftest import BrowserGuard, guarded_page
from playwright.sync_api import Browser, Page, expect
from tests.browser.test_game import start_game_in_lobby, wait_for_photo

SCREENS = {"laptop-768": {"width": 1366, "height": 768}, "laptop-800": {"width": 1366, "height": 800},
           "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Browser, guard: BrowserGuard, arena_server: str) -> Iterator[Page]:
    phone = request.param == "phone"
    with guarded_page(browser, guard, base_url=arena_server, viewport=SCREENS[request.param], is_mobile=phone,
                      has_touch=phone) as page:
        yield page


def assert_on_screen(page: Page, *selectors: str) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    assert page.evaluate("() => window.scrollY") == 0
    for selector in selectors:
        box = page.locator(selector).bounding_box()
        assert box is not None, f"{selector} is not shown"
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (
            f"{selector} spans y {box['y']:.0f}..{box['y'] + box['height']:.0f} on a {viewport['height']} px screen")
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
