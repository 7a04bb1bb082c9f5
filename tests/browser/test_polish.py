"""What a player reads after a game: radii where both or neither made it say so (not "Tie"), summary points
formatted, PlaNet in the standings, a legend under the summary map; a wrong room code is said in the lobby."""

from __future__ import annotations

import re

from conftest import BrowserGuard
from playwright.sync_api import Page, expect
from test_game import MODEL_TIMEOUT_MS, guess_by_clicking, start_game_in_lobby, wait_for_photo


def test_the_reveal_and_the_summary_read_plainly(page: Page) -> None:
    start_game_in_lobby(page, rounds=1, name="Ada")
    wait_for_photo(page)
    guess_by_clicking(page, x=0.5, y=0.5)
    page.click("#guess-button")
    expect(page.locator("#winners tbody tr")).to_have_count(6, timeout=MODEL_TIMEOUT_MS)
    radii = page.locator("#winners tbody tr td:nth-child(2)").all_text_contents()[:5]
    assert set(radii) <= {"You", "PlaNet", "Both", "Neither"}, radii
    page.click("#next-button")
    expect(page.locator("#summary-panel")).to_be_visible()
    expect(page.locator("#summary-legend")).to_be_visible()
    expect(page.locator("#summary-standings")).to_contain_text("PlaNet")
    expect(page.locator("#summary-standings")).to_contain_text("Ada (you)")
    table = page.locator("#summary-table").inner_text()
    assert not re.search(r"(?<![\d,])\d{4,}(?![\d,])", table), table  # 1,573, never 1573


def test_a_wrong_room_code_is_said_in_the_lobby(page: Page, guard: BrowserGuard) -> None:
    page.goto("/")
    page.fill("#room", "NoSuchGame1234")
    page.click("#join-room button")
    expect(page.locator("#join-error")).to_contain_text("No game has that code")
    assert page.url.endswith("/")
    # The lobby asked the API about the code; Chromium logs the expected 404 of that one call as an error.
    guard.console_errors[:] = [error for error in guard.console_errors if "/api/games/NoSuchGame1234" not in error]
