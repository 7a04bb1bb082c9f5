"""The reveal as the genre has it: the line from the player's guess to the truth drawn out from the guess and the
points counting up — at once, with no motion, where the player asked for reduced motion — and a summary map whose
pins carry their round's number. The place is named by its country; the continent is said apart, as the
benchmark counts it."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP_VIEWPORT, SERVER_ENVIRONMENT, BrowserGuard, guarded_page
from tests.browser.test_game import MODEL_TIMEOUT_MS, guess_by_clicking, start_game_in_lobby, wait_for_photo
from tests.browser.test_map import opening_offset

# Every text the score cards' points showed, and whether a guess line was ever drawn out by its dash offset.
WATCH = """window.__points = { human: [], model: [] }; window.__dashed = false;
new MutationObserver(() => {
    for (const kind of ['human', 'model']) {
        const node = document.querySelector(`#reveal-details .score-card.${kind} .points`);
        const seen = window.__points[kind];
        if (node && node.textContent !== seen.at(-1)) seen.push(node.textContent);
    }
    // Drawn out: a dash as long as the line, its offset moving to 0 by a transition (over by the next look).
    for (const path of document.querySelectorAll('#reveal-map path.guess-line'))
        if (path.style.strokeDasharray && path.style.transition.includes('stroke-dashoffset')) window.__dashed = true;
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true,
                       attributeFilter: ['style'] });"""


@pytest.fixture(params=["no-preference", "reduce"])
def motion_page(
    request: pytest.FixtureRequest, browser: Browser, guard: BrowserGuard, arena_server: str
) -> Iterator[Page]:
    with guarded_page(
        browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT, reduced_motion=request.param
    ) as page:
        page.add_init_script(WATCH)
        yield page


@pytest.fixture
def truth_of(request: pytest.FixtureRequest, arena_server: str) -> Callable[[str, int], tuple[float, float]]:
    """Where round `number` of game `game` was taken, read from the arena server's own database (the test's
    answer key; no client ever sees it before its guess)."""
    database = Path(request.config.stash[SERVER_ENVIRONMENT]["PLANET_VAR_DIR"]) / "arena.sqlite3"

    def truth(game: str, number: int) -> tuple[float, float]:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute(
                "SELECT p.latitude, p.longitude FROM games_round r JOIN games_game g ON r.game_id = g.id"
                " JOIN panoramas_panorama p ON r.panorama_id = p.id WHERE g.public_id = ? AND r.number = ?",
                (game, number),
            ).fetchone()
        assert row is not None, (game, number)
        return float(row[0]), float(row[1])

    return truth


def guess_at(page: Page, latitude: float, longitude: float) -> None:
    """Click the guess map as near a point as its opening view shows (a place off the map's edge, Tokyo on a narrow
    map, at the edge's nearest spot, away from the zoom buttons and the credit): a few km off, or some hundreds."""
    box = page.locator("#guess-map").bounding_box()
    assert box is not None
    dx, dy = opening_offset(latitude, longitude)
    guess_by_clicking(page, x=inside(0.5 + dx / box["width"]), y=inside(0.5 + dy / box["height"]))


def inside(fraction: float) -> float:
    """A fraction of the map's width or height kept off its edges."""
    return min(0.85, max(0.15, fraction))


def as_number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_line_is_drawn_out_and_the_points_count_up_unless_motion_is_reduced(
    motion_page: Page, truth_of: Callable[[str, int], tuple[float, float]]
) -> None:
    page = motion_page
    reduced = page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
    game = start_game_in_lobby(page, rounds=2, name="Ada")
    for number in (1, 2):
        expect(page.locator("#round-title")).to_have_text(f"Round {number} of 2")
        wait_for_photo(page)
        if number == 1:
            # Near the truth, so the count has hundreds of points or more to go through: a guess anywhere, with a
            # wrong PlaNet, once left both cards under 10 points and nothing to see counted (CI, stop 34).
            guess_at(page, *truth_of(game, 1))
        else:
            guess_by_clicking(page, x=0.45, y=0.4)
        page.click("#guess-button")
        expect(page.locator("#reveal-details .score-card.model .points")).not_to_have_text(
            "—", timeout=MODEL_TIMEOUT_MS
        )
        page.wait_for_timeout(1200)  # the count is over
        expect(page.locator("#reveal-map path.guess-line")).to_have_count(1)
        shown = page.evaluate("() => window.__points")
        if number == 1:
            # The country alone names the place; the continent is said as the benchmark counts it, the country's
            # (Khabarovsk read "Russia, Europe").
            expect(page.locator("#reveal-details p").first).to_have_text(
                re.compile(r"^The photo was taken in [A-Z][a-z]+ \(-?\d")
            )
            expect(page.locator("#truth-continent")).to_have_text(
                re.compile(r"^Continent in the benchmark: (Europe|Africa|Asia|South America), the country's continent")
            )
            # The player's card, hundreds of points or more, counted up to its value, never down.
            values = [as_number(text) for text in shown["human"] if text != "—"]
            final = as_number(page.locator("#reveal-details .score-card.human .points").inner_text())
            assert values[-1] == final and values == sorted(values), shown
            if reduced:
                assert values == [final], shown
                assert not page.evaluate("() => window.__dashed")
            else:
                assert final >= 100 and len(values) >= 3 and values[0] == 0, shown
                assert page.evaluate("() => window.__dashed")
        page.click("#next-button")

    summary = page.locator("#summary-map")
    for kind in ("truth", "human"):
        pins = summary.locator(f".map-pin.{kind}.numbered")
        expect(pins).to_have_count(2)
        assert sorted(pins.all_inner_texts()) == ["1", "2"]
