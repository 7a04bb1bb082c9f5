"""The daily challenge ends on a daily ending: the player's rank, the day's board and the time until tomorrow's,
and no "Play again" (which started an ordinary game on the daily set). The board's empty state is a sentence, not
a numbered row ("1. No one has finished today's yet."). Asking for the daily again after a finished try says so in
the lobby instead of silently reopening it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import expect_really_visible
from tests.browser.test_game import MODEL_TIMEOUT_MS, wait_for_photo

DAILY_ROUNDS = 5


def test_a_finished_daily_try_ends_on_its_rank_board_and_countdown(page: Page, screenshot: Callable[..., Path]) -> None:
    page.goto("/")
    board = page.locator("#daily-leaderboard")
    # Guests' tries are played but never ranked: on this server's board there is no one yet.
    expect(board).to_have_text(re.compile(r"^No one is on today's board yet"))
    assert board.evaluate("e => e.tagName") == "P"
    page.click("#daily-button")
    page.wait_for_url(re.compile(r"/play/[A-Za-z0-9_-]+$"))
    try_url = page.url
    for number in range(1, DAILY_ROUNDS + 1):
        expect(page.locator("#round-title")).to_have_text(f"Round {number} of {DAILY_ROUNDS}")
        wait_for_photo(page)
        page.keyboard.press("p")
        expect(page.locator("#guess-button")).to_be_enabled()
        page.keyboard.press("Enter")
        expect(page.locator("#winners tbody tr")).to_have_count(6, timeout=MODEL_TIMEOUT_MS)
        page.click("#next-button")

    expect(page.locator("#summary-title")).to_have_text(re.compile(r"^Today's challenge: [\d,]+ points$"))
    expect_really_visible(page.locator("#daily-rank"))
    expect(page.locator("#daily-rank")).to_have_text(re.compile(r"that would be \d+(st|nd|rd|th) of \d+ today"))
    expect(page.locator("#daily-next")).to_have_text(re.compile(r"^Next challenge in \d{1,2}:\d\d:\d\d$"))
    first = page.locator("#daily-next").text_content()
    page.wait_for_timeout(1100)
    assert page.locator("#daily-next").text_content() != first, "the countdown does not count"
    expect(page.locator("#daily-board")).to_be_attached()
    expect(page.locator("#again-button")).to_be_hidden()
    expect(page.locator("#summary-table tbody tr")).to_have_count(DAILY_ROUNDS)
    screenshot(page, "daily-ending")

    # Asking again: the lobby says the try is done, with the rank and a link to it; it does not reopen it.
    page.goto("/")
    expect(page.locator("#daily-button")).to_have_text("See today's result")
    page.click("#daily-button")
    expect_really_visible(page.locator("#daily-you"))
    expect(page.locator("#daily-you")).to_contain_text("You have played today's challenge")
    expect(page.locator("#daily-next")).to_have_text(re.compile(r"^Next challenge in "))
    assert page.url.endswith("/")
    page.click("#daily-link")
    page.wait_for_url(try_url)
    expect(page.locator("#summary-title")).to_have_text(re.compile(r"^Today's challenge: "))


def test_the_board_says_planets_row_in_plain_words(page: Page) -> None:
    board = {
        "day": "2026-12-06",
        "you": None,
        "leaderboard": [
            {"name": "Ada", "points": 21000, "model": False},
            {"name": "PlaNet", "points": 15000, "model": True, "games": 1},
        ],
    }
    page.route("**/api/daily/leaderboard", lambda route: route.fulfill(json=board))
    page.goto("/")
    rows = page.locator("#daily-leaderboard li")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_have_text("PlaNet (its mean over 1 game): 15,000 pts")
