"""Consent and own data in a real browser: the lobby's notice says rounds are recorded for research (what, for
how long, who sees them) and links the datasheet; a signed-in player downloads their rounds and deletes them,
after which their profile and the benchmark's ratings no longer hold them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserGuard
from tests.browser.test_accounts import PASSWORD, wait_for_the_model
from tests.browser.test_game import MODEL_TIMEOUT_MS, guess_by_clicking, start_game_in_lobby, wait_for_photo


def sign_up(page: Page, username: str) -> None:
    page.goto("/accounts/sign-up")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("#account-submit")
    page.wait_for_url(re.compile(r"/profile$"))


def test_the_notice_links_the_datasheet_and_a_player_downloads_then_deletes_their_rounds(
    page: Page, guard: BrowserGuard, screenshot: Callable[..., Path]
) -> None:
    page.goto("/")
    notice = page.locator("#research-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("recorded for research")
    expect(notice).to_contain_text("Kept for as long as the benchmark runs")
    expect(notice).to_contain_text("Who sees them")
    notice.locator("a").click()
    page.wait_for_url(re.compile(r"/datasheet$"))
    for section in ("## Motivation", "## Consent", "## Maintenance", "Earlier releases"):
        expect(page.locator("#datasheet")).to_contain_text(section)

    sign_up(page, "hedy")
    start_game_in_lobby(page, rounds=1, name="Hedy")
    wait_for_photo(page)
    wait_for_the_model(page)
    guess_by_clicking(page, x=0.5, y=0.5)
    page.click("#guess-button")
    expect(page.locator("#winners tbody tr")).to_have_count(6, timeout=MODEL_TIMEOUT_MS)

    page.goto("/profile")
    expect(page.locator("#profile-rounds")).to_have_text("1")
    with page.expect_download() as download:
        page.click("#download-data")
    data = json.loads(Path(download.value.path()).read_text())
    assert data["rounds"] == 1 and data["rows"][0]["player_name"] == "Hedy"
    screenshot(page, "profile-own-data")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-data")
    expect(page.locator("#delete-status")).to_have_text("Deleted 1 rounds.")
    expect(page.locator("#profile-rounds")).to_have_text("0")
    page.goto("/stats")
    page.select_option("#filter-tier", "open")
    expect(page.locator("#stats")).to_be_visible()
    expect(page.locator("#ratings-table")).not_to_contain_text("Hedy")
    guard.assert_clean()
