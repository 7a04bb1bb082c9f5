"""A round by keyboard: Space and Enter lock the guess as the hint says, also after a click on ▶ (the view button
kept the focus and the keys switched views instead); + − and F work wherever the focus is, not only on the photo;
each round puts the focus on its title rather than dropping it to the page; and a time limit is announced to a
screen reader at a few moments, not every second."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import ARENA_SET, MULTIVIEW_SET
from tests.browser.test_game import MODEL_TIMEOUT_MS, create_game_by_api, guess_by_clicking, wait_for_photo


def focused_id(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


def test_enter_and_space_guess_after_a_click_on_the_view_buttons(page: Page) -> None:
    game = create_game_by_api(page, set=MULTIVIEW_SET, rounds=2, mode="move")
    page.goto(f"/play/{game}")
    for number, key in ((1, "Enter"), (2, " ")):
        expect(page.locator("#round-title")).to_have_text(f"Round {number} of 2")
        wait_for_photo(page)
        expect(page.locator("#round-title")).to_be_focused()  # not the page's body
        guess_by_clicking(page, x=0.5, y=0.5)
        page.click("#view-next")
        expect(page.locator("#viewer .view-name")).to_contain_text("2/2")
        expect(page.locator("#view-next")).to_be_focused()
        page.keyboard.press(key)
        expect(page.locator("#reveal-title")).to_have_text(re.compile(rf"Round {number}: [\d,]+ points"))
        expect(page.locator("#reveal-title")).to_be_focused()
        expect(page.locator("#winners tbody tr")).to_have_count(6, timeout=MODEL_TIMEOUT_MS)
        if number == 1:
            page.keyboard.press("Enter")  # from the reveal on to the next round


def test_zoom_and_full_screen_keys_work_wherever_the_focus_is(page: Page) -> None:
    game = create_game_by_api(page, set=ARENA_SET, rounds=1, mode="move")
    page.goto(f"/play/{game}")
    wait_for_photo(page)
    frame = page.locator("#viewer .zoomable")
    expect(frame).to_have_attribute("data-scale", "1.00")
    guess_by_clicking(page, x=0.5, y=0.5)
    page.locator("#guess-button").focus()
    page.keyboard.press("+")
    expect(frame).to_have_attribute("data-scale", "1.50")
    page.locator("#round-title").focus()
    page.keyboard.press("-")
    expect(frame).to_have_attribute("data-scale", "1.00")
    page.keyboard.press("f")
    page.wait_for_function(
        "() => document.fullscreenElement && document.fullscreenElement.matches('.zoomable')", polling=100
    )
    page.keyboard.press("f")
    page.wait_for_function("() => !document.fullscreenElement", polling=100)
    # In a text field the keys are the field's.
    page.evaluate(
        "() => { const input = document.createElement('input'); input.id = 'scratch';"
        " document.querySelector('#round-panel').append(input); }"
    )
    page.locator("#scratch").focus()
    page.keyboard.press("+")
    expect(frame).to_have_attribute("data-scale", "1.00")


def test_a_time_limit_is_announced_at_a_few_moments_only(page: Page) -> None:
    game = create_game_by_api(page, set=ARENA_SET, rounds=1, time_limit_s=12)
    page.add_init_script("""window.__said = [];
        new MutationObserver(() => {
            const box = document.getElementById('countdown-announce');
            if (box && box.textContent && box.textContent !== window.__said.at(-1)) window.__said.push(box.textContent);
        }).observe(document, { subtree: true, childList: true, characterData: true });""")
    page.goto(f"/play/{game}")
    announcer = page.locator("#countdown-announce")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(page.locator("#reveal-panel")).to_be_visible(timeout=25_000)
    said = page.evaluate("() => window.__said")
    assert re.fullmatch(r"1[12] seconds to guess", said[0]), said
    assert said[1:] == ["10 seconds left", "Time is up"], said
