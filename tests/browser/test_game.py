"""Whole games in real Chromium against the real server: the lobby, the view, clicking a guess on the offline
map, the reveal with both guesses and PlaNet's cell heatmap, the summary, rooms, time limits, panoramas and
a phone. Every page is guarded: a request leaving this machine or a console error fails the test."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import (
    ARENA_SET,
    DESKTOP_VIEWPORT,
    MULTIVIEW_SET,
    PANORAMA_SET,
    BrowserGuard,
    expect_really_visible,
    guarded_page,
)

MODEL_TIMEOUT_MS = 60_000  # the in-process worker loads the tiny model on its first round


def expect_no_placeholder_text(page: Page) -> None:
    """No "null", "undefined" or "NaN" rendered where a value should be."""
    text = page.locator("main").inner_text()
    assert not re.search(r"(?<![A-Za-z])(null|undefined|NaN)", text), text


def wait_for_map(page: Page, selector: str) -> None:
    """The map is drawn: Leaflet is up and the country borders (one canvas in the land pane) are painted."""
    expect(page.locator(f"{selector} .leaflet-land-pane canvas")).to_have_count(1)


def wait_for_photo(page: Page) -> None:
    # Polled on a timer: headless Chromium may not run animation frames for a page nothing repaints.
    page.wait_for_function(
        "() => { const img = document.querySelector('#viewer img');"
        " return img && img.complete && img.naturalWidth > 0; }",
        polling=100,
    )


def start_game_in_lobby(page: Page, *, rounds: int, name: str, room: bool = False, mode: str = "move") -> str:
    """Fill the lobby's form and start; returns the game's id from the URL it lands on."""
    page.goto("/")
    expect(page.locator("#set option")).not_to_have_count(0)
    page.fill("#name", name)
    page.select_option("#set", ARENA_SET)
    page.fill("#rounds", str(rounds))
    page.check(f"input[name=mode][value={mode}]")
    page.click("#create-room" if room else "#play-solo")
    page.wait_for_url(re.compile(r"/play/[A-Za-z0-9_-]+"))
    return page.url.split("/play/")[1].split("?")[0]


def create_game_by_api(page: Page, **settings: object) -> str:
    """POST /api/games from the page (its session and CSRF token), for settings the lobby does not offer."""
    page.goto("/")
    expect(page.locator("#set option")).not_to_have_count(0)
    return page.evaluate(
        """async (settings) => {
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        const response = await fetch('/api/games', {method: 'POST', body: JSON.stringify(settings),
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
        if (!response.ok) throw new Error(await response.text());
        return (await response.json()).game;
    }""",
        settings,
    )


def guess_by_clicking(page: Page, *, x: float, y: float) -> None:
    guess_map = page.locator("#guess-map")
    box = guess_map.bounding_box()
    assert box is not None
    guess_map.click(position={"x": box["width"] * x, "y": box["height"] * y})
    expect(page.locator("#guess-map .map-pin.human")).to_have_count(1)
    expect(page.locator("#guess-button")).to_be_enabled()


def expect_full_reveal(page: Page) -> None:
    """The truth, both guesses with great circles, PlaNet's cells and the five radii plus the closer guess."""
    reveal = page.locator("#reveal-panel")
    expect(reveal).to_be_visible()
    for kind in ("truth", "human", "model"):
        expect(reveal.locator(f".map-pin.{kind}")).to_have_count(1, timeout=MODEL_TIMEOUT_MS)
    expect(reveal.locator("path.model-cell").first).to_be_attached()
    assert reveal.locator("path.model-cell").count() >= 1
    expect(reveal.locator("#winners tbody tr")).to_have_count(6)
    expect(reveal.locator(".score-card.human")).to_contain_text(re.compile(r"\d[\d,.]* k?m away"))
    expect(reveal.locator(".score-card.model")).to_contain_text(re.compile(r"\d[\d,.]* k?m away"))
    expect_no_placeholder_text(page)


def test_a_solo_game_is_played_to_the_summary(page: Page, screenshot: Callable[..., Path]) -> None:
    start_game_in_lobby(page, rounds=2, name="Ada")
    expect(page.locator("#round-title")).to_have_text("Round 1 of 2")
    wait_for_photo(page)
    wait_for_map(page, "#guess-map")
    expect(page.locator("#guess-button")).to_be_disabled()
    guess_by_clicking(page, x=0.3, y=0.35)
    guess_by_clicking(page, x=0.55, y=0.4)  # a second click moves the one pin
    screenshot(page, "game")
    page.click("#guess-button")
    expect_full_reveal(page)
    expect(page.locator("#reveal-title")).to_have_text(re.compile(r"Round 1: [\d,]+ points"))
    wait_for_map(page, "#reveal-map")
    screenshot(page, "reveal")

    # Round 2 by keyboard alone: P puts the pin at the map's centre, Space locks it.
    page.click("#next-button")
    expect(page.locator("#round-title")).to_have_text("Round 2 of 2")
    wait_for_photo(page)
    page.locator("body").press("p")
    expect(page.locator("#guess-button")).to_be_enabled()
    page.locator("body").press(" ")
    expect_full_reveal(page)
    expect(page.locator("#next-button")).to_have_text("See the summary")

    page.click("#next-button")
    summary = page.locator("#summary-panel")
    expect(summary).to_be_visible()
    expect(page.locator("#summary-title")).to_have_text(re.compile(r"Game over: you [\d,]+, PlaNet [\d,]+"))
    expect(summary.locator("#summary-table tbody tr")).to_have_count(2)
    expect(summary.locator(".map-pin.truth")).to_have_count(2)
    expect(summary.locator(".map-pin.human")).to_have_count(2)
    wait_for_map(page, "#summary-map")
    expect_no_placeholder_text(page)
    screenshot(page, "summary")

    page.click("#again-button")
    page.wait_for_url(re.compile(r"/play/"))
    expect(page.locator("#round-title")).to_have_text("Round 1 of 2")


def test_reloading_mid_game_shows_the_locked_round_and_plays_on(page: Page) -> None:
    game = start_game_in_lobby(page, rounds=2, name="Reloader")
    wait_for_photo(page)
    guess_by_clicking(page, x=0.5, y=0.5)
    page.click("#guess-button")
    expect(page.locator("#reveal-panel")).to_be_visible()
    page.goto(f"/play/{game}")
    expect(page.locator("#reveal-panel")).to_be_visible()
    expect(page.locator("#reveal-title")).to_have_text(re.compile(r"Round 1: "))
    page.click("#next-button")
    expect(page.locator("#round-title")).to_have_text("Round 2 of 2")


def test_a_round_that_runs_out_of_time_is_locked_as_a_timeout_inside_no_radius(page: Page) -> None:
    game = create_game_by_api(page, set=ARENA_SET, rounds=1, time_limit_s=5)
    page.goto(f"/play/{game}")
    countdown = page.locator("#countdown")
    expect(countdown).to_be_visible()
    expect(countdown).to_have_text(re.compile(r"0:0[0-5]"))
    expect(page.locator("#reveal-panel")).to_be_visible(timeout=15_000)
    expect(page.locator(".score-card.human")).to_contain_text("Time ran out")
    expect(page.locator(".score-card.human .points")).to_have_text("0")
    # No pin is no distance, inside no radius: each radius is PlaNet's or no one's (a missing distance once read as
    # inside every radius, "Both" all the way down to the street), and PlaNet is the closer guess.
    expect(page.locator("#winners tbody tr")).to_have_count(6, timeout=MODEL_TIMEOUT_MS)
    expect_really_visible(page.locator("#winners"))
    radii = page.locator("#winners tbody tr td:nth-child(2)").all_text_contents()
    assert set(radii[:5]) <= {"PlaNet", "Neither"} and radii[5] == "PlaNet", radii


def test_a_panorama_round_opens_in_the_360_viewer(page: Page, screenshot: Callable[..., Path]) -> None:
    game = create_game_by_api(page, set=PANORAMA_SET, rounds=1)
    page.goto(f"/play/{game}")
    expect(page.locator("#viewer .panorama canvas")).to_be_visible()
    page.wait_for_function(
        "() => !document.querySelector('#viewer .pnlm-load-box') ||"
        " getComputedStyle(document.querySelector('#viewer .pnlm-load-box')).display === 'none'",
        polling=100,
    )
    screenshot(page, "panorama")
    guess_by_clicking(page, x=0.5, y=0.5)
    page.keyboard.press("Enter")
    expect_full_reveal(page)


def test_an_nmpz_panorama_is_served_as_a_still_photo(page: Page) -> None:
    game = create_game_by_api(page, set=PANORAMA_SET, rounds=1, mode="nmpz")
    page.goto(f"/play/{game}")
    wait_for_photo(page)
    expect(page.locator("#viewer .panorama")).to_have_count(0)
    expect(page.locator("#viewer .zoomable")).to_have_count(0)  # no zoom either


def test_a_multi_view_place_is_looked_around_with_the_buttons_and_arrow_keys(
    page: Page, screenshot: Callable[..., Path]
) -> None:
    game = create_game_by_api(page, set=MULTIVIEW_SET, rounds=1, mode="move")
    page.goto(f"/play/{game}")
    wait_for_photo(page)
    image, label = page.locator("#viewer img"), page.locator("#viewer .view-name")
    expect(label).to_contain_text("view-0")
    expect(label).to_contain_text("1/2")
    expect(image).to_have_attribute("src", re.compile(r"/views/0$"))
    page.locator("body").press("ArrowRight")
    expect(label).to_contain_text("view-1 · facing E — 2/2")
    expect(image).to_have_attribute("src", re.compile(r"/views/1$"))
    wait_for_photo(page)
    screenshot(page, "multiview")
    page.click("#view-previous")
    expect(image).to_have_attribute("src", re.compile(r"/views/0$"))
    page.click("#view-previous")  # round the place: from the first view back to the last
    expect(label).to_contain_text("2/2")
    guess_by_clicking(page, x=0.5, y=0.5)
    page.keyboard.press("Enter")
    expect_full_reveal(page)


def test_an_nmpz_multi_view_round_shows_one_view_and_no_switcher(page: Page) -> None:
    game = create_game_by_api(page, set=MULTIVIEW_SET, rounds=1, mode="nmpz")
    page.goto(f"/play/{game}")
    wait_for_photo(page)
    expect(page.locator("#viewer .view-switcher")).to_have_count(0)
    expect(page.locator("#viewer img")).to_have_attribute("src", re.compile(r"/image$"))


def test_two_players_in_a_room_see_each_other_live(
    browser: Browser, guard: BrowserGuard, arena_server: str, screenshot: Callable[..., Path]
) -> None:
    with (
        guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as host,
        guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as guest,
    ):
        game = start_game_in_lobby(host, rounds=1, name="Host", room=True)
        expect(host.locator("#room-panel")).to_be_visible()
        invite = host.locator("#invite-link").input_value()
        assert invite.endswith(f"/play/{game}")

        # The guest pastes the invite link into the lobby's join form.
        guest.goto("/")
        guest.fill("#room", invite)
        guest.click("#join-room button")
        guest.wait_for_url(f"**/play/{game}")
        expect(guest.locator("#join-panel")).to_be_visible()
        guest.fill("#join-name", "Guest")
        guest.click("#join-form button")
        # Everyone joins before the first round; the guest waits for the host to start.
        expect(guest.locator("#room-wait")).to_contain_text("host")
        expect(guest.locator("#start-button")).to_be_hidden()
        # The host hears of the guest over the websocket; the standings name both.
        expect(host.locator("#standings")).to_contain_text("Guest")
        host.click("#start-button")
        expect(guest.locator("#round-title")).to_have_text("Round 1 of 1")

        wait_for_photo(host)
        guess_by_clicking(host, x=0.4, y=0.4)
        host.click("#guess-button")
        # Locked, but the guest has not guessed: no truth and no points for anyone yet.
        expect(host.locator("#waiting")).to_contain_text("1 of 2 have guessed")
        expect(host.locator("#reveal-details")).not_to_contain_text("points")
        wait_for_photo(guest)
        guess_by_clicking(guest, x=0.7, y=0.6)
        guest.click("#guess-button")
        expect_full_reveal(guest)
        expect(guest.locator("#reveal-panel .map-pin.other")).to_have_count(1)
        # The host's reveal updates live with the guest's guess, without a reload.
        expect(host.locator("#reveal-panel .map-pin.other")).to_have_count(1)
        expect(host.locator("#reveal-details")).to_contain_text("Guest")
        screenshot(host, "room-reveal")


def test_a_round_can_be_played_on_a_phone(phone_page: Page, screenshot: Callable[..., Path]) -> None:
    start_game_in_lobby(phone_page, rounds=1, name="Phone")
    wait_for_photo(phone_page)
    wait_for_map(phone_page, "#guess-map")
    guess_map = phone_page.locator("#guess-map")
    guess_map.scroll_into_view_if_needed()
    box = guess_map.bounding_box()
    assert box is not None and box["width"] <= 390
    guess_map.tap(position={"x": box["width"] / 2, "y": box["height"] / 3})
    phone_page.locator("#guess-button").tap()
    expect_full_reveal(phone_page)
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "reveal-phone")


def test_the_benchmark_page_shows_the_tables_and_plots(
    page: Page, arena_manage: Callable[..., None], screenshot: Callable[..., Path]
) -> None:
    # Enough rounds for every table: synthetic players a few hundred to a few thousand km off; three of them, as
    # fewer than three (effective) players get "too few players to say" instead of intervals.
    arena_manage(
        ["simulate_rounds", "--set", ARENA_SET, "--rounds", "40", "--seed", "1"]
        + ["--skill-km", "300", "--skill-km", "1000", "--skill-km", "3000"]
    )
    page.goto("/stats")
    expect(page.locator("#stats")).to_be_visible()
    # The verified tier comes first; simulated players are no signed-in accounts, so it holds none of theirs.
    expect(page.locator("#stats-status")).to_contain_text(
        re.compile(
            r"Verified tier: 0 rounds .* not verified: "
            r".*[\d,]+ guest"
        )
    )
    expect(page.locator("#winrate-plot text", has_text="no decided rounds")).to_have_count(6)
    page.select_option("#filter-tier", "open")
    expect(page.locator("#stats-status")).to_contain_text(re.compile(r"Open tier: [1-9][\d,]* rounds"))
    expect(page.locator("#threshold-table tbody tr")).to_have_count(5)
    expect(page.locator("#threshold-table tbody")).to_contain_text("Continent (2500 km)")
    expect(page.locator("#threshold-table tbody")).to_contain_text(re.compile(r"\d+% \(\d+%–\d+%\)"))
    # One row per radius and the closer guess: an estimate with its interval, or "no decided rounds".
    expect(page.locator("#winrate-plot circle.estimate").first).to_be_visible()
    estimates = page.locator("#winrate-plot circle.estimate").count()
    assert estimates + page.locator("#winrate-plot text", has_text="no decided rounds").count() == 6
    # A bar exactly where the table gives an interval (the plot drew the naive Wilson bar where it gave none).
    win_rates = page.locator("#threshold-table tbody tr td:nth-child(8), #threshold-table tfoot tr td:nth-child(8)")
    with_interval = {
        row
        for row, text in zip(
            ["Street", "City", "Region", "Country", "Continent", "Closer"], win_rates.all_text_contents(), strict=True
        )
        if "–" in text
    }
    drawn = {line.get_attribute("data-row") for line in page.locator("#winrate-plot line.interval").all()}
    assert drawn == with_interval and len(drawn) <= estimates
    # A radius whose cluster interval is undefined (too few players among its decided rounds) shows its point
    # alone and says why; no naive Wilson interval is drawn in its place.
    unbounded = page.locator("#winrate-plot text.no-interval").count()
    assert page.locator("#winrate-plot line.interval").count() + unbounded == estimates
    intervals = page.evaluate("""async () => {
        const t = await (await fetch('/api/stats/benchmark?tier=open')).json();
        return [...t.thresholds, t.head_to_head].filter((r) => r.human_win_rate !== null && r.low !== null)
          .length; }""")
    assert page.locator("#winrate-plot line.interval").count() == intervals
    expect(page.locator("#cdf-plot path.cdf.human")).to_have_count(1)
    expect(page.locator("#cdf-plot path.cdf.model")).to_have_count(1)
    expect(page.locator("#breakdown-table tbody tr").first).to_be_visible()
    assert page.locator("#ratings-table tbody tr").count() >= 4  # three synthetic players and the model
    expect_no_placeholder_text(page)
    screenshot(page, "stats")

    # Filtering reloads the tables, and the download links follow the filter.
    page.select_option("#filter-mode", "nmpz")
    expect(page.locator("#download-json")).to_have_attribute("href", re.compile(r"mode=nmpz"))
    expect(page.locator("a.export[data-format=parquet]")).to_have_attribute(
        "href", re.compile(r"format=parquet.*mode=nmpz")
    )
    page.select_option("#breakdown-by", "player")
    expect(page.locator("#breakdown-table thead")).to_contain_text("Human closer")


def test_the_benchmark_page_shows_the_tier_last_asked_for(page: Page) -> None:
    """The page's first load (the verified tier) answered after the player had picked the open tier, and drew
    its tables over the open ones: the accounts test's ratings came and went."""
    held: list[Route] = []
    page.route(re.compile(r"/api/stats/benchmark\?tier=verified"), lambda route: held.append(route))
    page.goto("/stats")
    expect(page.locator("#filter-tier")).to_be_enabled()
    page.wait_for_function("() => document.getElementById('filter-set').options.length > 1")
    assert len(held) == 1
    page.select_option("#filter-tier", "open")
    expect(page.locator("#stats-status")).to_contain_text("Open tier")
    with page.expect_response(re.compile(r"/api/stats/benchmark\?tier=verified")):
        held[0].continue_()
    page.wait_for_timeout(300)  # the late answer's handler has run
    expect(page.locator("#stats-status")).to_contain_text("Open tier")
