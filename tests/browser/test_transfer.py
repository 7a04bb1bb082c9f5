"""What the game page costs a player's connection: the first visit under 600 KB transferred in all (static files
gzip- or brotli-compressed, the borders quantised), a repeat visit under 50 KB (fingerprinted static files
cached as immutable). Bytes are Chromium's own count of what crossed the network (CDP encodedDataLength)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARENA_SET, DESKTOP_VIEWPORT

FIRST_VISIT_MAX = 600_000
REPEAT_VISIT_MAX = 50_000


@pytest.fixture
def cached_page(browser: Browser, arena_server: str) -> Iterator[Page]:
    # Not the guarded page: Playwright's request routing switches the HTTP cache off, and the cache is the point.
    context = browser.new_context(base_url=arena_server, viewport=DESKTOP_VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


def transferred(page: Page, url: str) -> tuple[int, list[str]]:
    """Bytes received while loading `url` until its photo and map are drawn, and the URLs fetched."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    received: dict[str, int] = {}
    urls: dict[str, str] = {}
    session.on("Network.requestWillBeSent", lambda event: urls.__setitem__(event["requestId"], event["request"]["url"]))
    session.on(
        "Network.loadingFinished",
        lambda event: received.__setitem__(event["requestId"], int(event["encodedDataLength"])),
    )
    page.goto(url)
    page.wait_for_function(
        "() => { const img = document.querySelector('#viewer img');"
        " return img && img.complete && img.naturalWidth > 0; }",
        polling=100,
    )
    expect(page.locator("#guess-map .leaflet-land-pane canvas")).to_have_count(1)
    page.wait_for_timeout(500)  # late requests (the websocket, the model's event) settle
    session.detach()
    return sum(received.values()), sorted(urls[r] for r, n in received.items() if n > 0 and r in urls)


def test_a_game_page_is_light_first_and_lighter_again(cached_page: Page) -> None:
    cached_page.goto("/")
    expect(cached_page.locator("#set option")).not_to_have_count(0)
    game = cached_page.evaluate(
        """async (set) => {
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        const response = await fetch('/api/games', {method: 'POST', body: JSON.stringify({set, rounds: 2}),
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
        return (await response.json()).game;
    }""",
        ARENA_SET,
    )
    # The lobby loaded the shared stylesheet and scripts; clear the cache so the game page is a first visit.
    cdp = cached_page.context.new_cdp_session(cached_page)
    cdp.send("Network.clearBrowserCache")
    cdp.detach()
    first, first_urls = transferred(cached_page, f"/play/{game}")
    assert first < FIRST_VISIT_MAX, (first, first_urls)
    assert any("/static/map/countries." in url for url in first_urls)  # the borders really came over the wire
    again, again_urls = transferred(cached_page, f"/play/{game}")
    assert again < REPEAT_VISIT_MAX, (again, again_urls)
    assert not any("/static/" in url for url in again_urls), again_urls
