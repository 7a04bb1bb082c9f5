"""A country streak in Chromium: chosen in the lobby, played by clicking countries on the map (the list is the
keyboard's way) until the first wrong one, and ended on a summary with both streaks."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARENA_SET, SERVER_ENVIRONMENT
from tests.browser.test_game import expect_no_placeholder_text, wait_for_map, wait_for_photo

# A point well inside each country the synthetic set's regions lie in (Paris, Nairobi, Tokyo, Lima), and one the
# photos never show, for the wrong guess: clicked at the guess map's opening view, where a country is a few
# pixels wide, so each is far from any border or coast.
INSIDE = {"FR": (46.6, 2.4), "KE": (0.5, 37.9), "JP": (36.1, 138.3), "PE": (-9.5, -74.5), "BR": (-10.0, -52.0)}
NAMES = {"FR": "France", "KE": "Kenya", "JP": "Japan", "PE": "Peru", "BR": "Brazil"}


@pytest.fixture
def arena_database(request: pytest.FixtureRequest, arena_server: str) -> Path:
    """The arena server's SQLite file: the test reads a served round's truth from it, as no player can."""
    return Path(request.config.stash[SERVER_ENVIRONMENT]["PLANET_VAR_DIR"]) / "arena.sqlite3"


def served_country(database: Path, game: str, number: int) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        row = connection.execute(
            "SELECT p.country FROM games_round r JOIN games_game g ON g.id = r.game_id "
            "JOIN panoramas_panorama p ON p.id = r.panorama_id "
            "WHERE g.public_id = ? AND r.number = ? AND r.served_at IS NOT NULL",
            (game, number),
        ).fetchone()
    assert row is not None, f"round {number} of {game} was not served"
    return str(row[0])


def click_country(page: Page, code: str) -> None:
    """Click the guess map where INSIDE[code] is drawn at its opening view (centre 20°N 0°E, zoom 1.5), placed
    with Leaflet's own projection."""
    guess_map = page.locator("#guess-map")
    box = guess_map.bounding_box()
    assert box is not None
    dx, dy = page.evaluate(
        """([lat, lng]) => {
        const at = (point) => L.CRS.EPSG3857.latLngToPoint(L.latLng(point), 1.5);
        const offset = at([lat, lng]).subtract(at([20, 0]));
        return [offset.x, offset.y];
    }""",
        list(INSIDE[code]),
    )
    x, y = box["width"] / 2 + dx, box["height"] / 2 + dy
    if 10 <= x <= box["width"] - 10 and 10 <= y <= box["height"] - 10:
        guess_map.click(position={"x": x, "y": y})
    else:  # not in view at the opening zoom on this screen (Japan, on a narrow map): a player would pick it so
        page.select_option("#country-select", code)
    expect(page.locator("#country-choice")).to_have_text(NAMES[code])
    expect(page.locator("#guess-button")).to_be_enabled()


def test_a_country_streak_is_played_by_clicking_countries_until_it_ends(
    page: Page, arena_database: Path, screenshot: Callable[..., Path]
) -> None:
    page.goto("/")
    expect(page.locator("#set option")).not_to_have_count(0)
    page.fill("#name", "Ada")
    page.select_option("#set", ARENA_SET)
    page.select_option("#goal", "country")
    page.click("#play-solo")
    page.wait_for_url(re.compile(r"/play/[A-Za-z0-9_-]+"))
    game = page.url.split("/play/")[1].split("?")[0]

    for number, right in ((1, True), (2, True), (3, False)):
        expect(page.locator("#round-title")).to_have_text(f"Round {number} · streak {number - 1}")
        wait_for_photo(page)
        wait_for_map(page, "#guess-map")
        if number == 1:  # the list picks a country too; a click on the map then changes it
            expect(page.locator("#country-select option[value=BR]")).to_have_count(1)
            page.select_option("#country-select", "BR")
            expect(page.locator("#country-choice")).to_have_text("Brazil")
        truth = served_country(arena_database, game, number)
        assert truth in INSIDE and truth != "BR", truth
        click_country(page, truth if right else "BR")
        page.click("#guess-button")
        expect(page.locator("#reveal-title")).to_have_text(f"Round {number}: {'right!' if right else 'wrong'}")
        expect(page.locator("#streak-truth")).to_contain_text(NAMES[truth])
        expect(page.locator("#streaks")).to_contain_text(f"Your streak: {min(number, 2)}")
        expect(page.locator("#next-button")).to_have_text("Next round" if right else "See the summary")
        if number == 2:
            screenshot(page, "streak-reveal")
        page.click("#next-button")

    expect(page.locator("#summary-panel")).to_be_visible(timeout=15_000)
    expect(page.locator("#summary-title")).to_have_text(re.compile(r"Streak over: you 2, PlaNet [0-3]"))
    expect(page.locator("#streak-summary")).to_contain_text("You named 2 countries in a row.")
    expect(page.locator("#streak-summary")).to_contain_text("PlaNet's streak")
    expect(page.locator("#summary-table tbody tr")).to_have_count(3)
    expect_no_placeholder_text(page)
    page.click("#share-button")
    text = page.locator("#share-text").input_value()
    assert "country streak" in text.splitlines()[0] and "Me 2 · PlaNet" in text
    assert not any(name in text for name in NAMES.values())  # no spoilers
