"""The guess map reads like a map, offline: country names at the world view, city and town names as the player
zooms in, never printed over one another or over a pin; lakes, rivers and state lines past their zoom, fetched
only then; a zoom that stops where the data ends; a one-line credit, folded on a phone; a first page that stays
light (Natural Earth and GeoNames, served by the game itself; the guard fails any request leaving the machine)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import ARENA_SET, expect_really_visible
from tests.browser.test_game import (
    create_game_by_api,
    guess_by_clicking,
    start_game_in_lobby,
    wait_for_map,
    wait_for_photo,
)

START_VIEW = (20.0, 0.0, 1.5)  # where a guess map opens: 20° N, 0°, zoom 1.5 (worldmap.js)
MAX_ZOOM = 8.0
# Bytes a first visit to a game page may move over the wire, compressed: the page, scripts, styles, map data and
# the round's photo.
FIRST_PAGE_BUDGET = 600 * 1024

# Every clash on the map: a name over a name, a name over a pin, a name past the map's edge.
CLASHES = """selector => {
    const map = document.querySelector(selector);
    const frame = map.getBoundingClientRect();
    const box = (element) => element.getBoundingClientRect();
    const names = [...map.querySelectorAll('.place-name span')].map((e) => [e.textContent, box(e)]);
    const pins = [...map.querySelectorAll('.map-pin')].map((e) => [e.className, box(e)]);
    const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const clashes = [];
    names.forEach(([name, rect], i) => {
        if (rect.left < frame.left || rect.right > frame.right || rect.top < frame.top || rect.bottom > frame.bottom)
            clashes.push(`${name} runs past the map's edge`);
        for (const [other, otherRect] of names.slice(i + 1))
            if (hit(rect, otherRect)) clashes.push(`${name} overlaps ${other}`);
        for (const [pin, pinRect] of pins)
            if (hit(rect, pinRect)) clashes.push(`${name} covers the pin ${pin}`);
    });
    return {clashes, names: names.map(([name]) => name)};
}"""


def world_pixel(latitude: float, longitude: float, *, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel of a point at a Leaflet zoom (256 px tiles)."""
    size = 256 * 2**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2))
    return size * (longitude + 180) / 360, size / 2 - size * y / (2 * math.pi)


def opening_offset(latitude: float, longitude: float) -> tuple[float, float]:
    """Where a point lies on a map at its opening view (START_VIEW), in pixels from the map's centre."""
    centre_lat, centre_lng, zoom = START_VIEW
    x, y = world_pixel(latitude, longitude, zoom=zoom)
    centre_x, centre_y = world_pixel(centre_lat, centre_lng, zoom=zoom)
    return x - centre_x, y - centre_y


def zoom_of(page: Page, selector: str) -> float:
    return float(page.locator(selector).get_attribute("data-zoom") or "nan")


def zoom_in_on(page: Page, latitude: float, longitude: float, *, zoom: float, selector: str = "#guess-map") -> None:
    """Wheel in over a point from the map's opening view, as a player would: Leaflet keeps the point under the
    pointer, so it stays there until the map reaches `zoom`."""
    box = page.locator(selector).bounding_box()
    assert box is not None
    dx, dy = opening_offset(latitude, longitude)
    page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
    for _ in range(30):
        if zoom_of(page, selector) >= zoom:
            break
        page.mouse.wheel(0, -60)
        # Until the zoom settles: on a busy machine a next wheel before the last one's zoom landed overshot.
        settled = zoom_of(page, selector)
        for _ in range(20):
            page.wait_for_timeout(150)
            if (now := zoom_of(page, selector)) == settled:
                break
            settled = now
    assert zoom_of(page, selector) >= zoom, f"the map stopped at zoom {zoom_of(page, selector)}"
    page.wait_for_timeout(400)  # the names are redrawn on the next animation frame after the move ends


def names_without_clashes(page: Page, selector: str, *, timeout_ms: float = 3_000) -> list[str]:
    """The names drawn in `selector`, after asserting that none clashes with another, a pin or the edge; retried
    until `timeout_ms`, as a map still gliding into place carries its names past the edge until it stops."""
    for _ in range(int(timeout_ms / 250)):
        result = page.evaluate(CLASHES, selector)
        if not result["clashes"]:
            break
        page.wait_for_timeout(250)
    assert not result["clashes"], result["clashes"]
    return list(result["names"])


def names_shown(page: Page) -> set[str]:
    return set(page.locator("#guess-map .place-name").all_text_contents())


def test_the_guess_map_names_countries_and_then_cities_as_it_zooms(page: Page) -> None:
    start_game_in_lobby(page, rounds=1, name="Ada")
    wait_for_map(page, "#guess-map")
    expect(page.locator("#guess-map .place-name.country").first).to_be_attached()
    world = set(names_without_clashes(page, "#guess-map"))
    assert {"Brazil", "Russia", "China"} <= world and "Lyon" not in world
    zoom_in_on(page, 47.3, 3.6, zoom=5)
    shown = set(names_without_clashes(page, "#guess-map"))
    assert {"Paris", "Lyon"} <= shown, shown
    assert "Brazil" not in shown  # only what is in view is drawn
    expect(page.locator("#guess-map .leaflet-control-attribution")).to_contain_text("GeoNames")


def test_neighbouring_names_and_pins_never_overlap(page: Page) -> None:
    """Ljubljana and Zagreb, Monaco and Nice were printed over each other, and pins sat on names."""
    start_game_in_lobby(page, rounds=1, name="Ada")
    wait_for_map(page, "#guess-map")
    zoom_in_on(page, 45.9, 15.2, zoom=5)
    assert {"Ljubljana", "Zagreb"} & set(names_without_clashes(page, "#guess-map"))
    zoom_in_on(page, 45.9, 15.2, zoom=7)
    names_without_clashes(page, "#guess-map")
    page.reload()
    wait_for_map(page, "#guess-map")
    zoom_in_on(page, 43.72, 7.35, zoom=8)
    assert {"Monaco", "Nice"} & set(names_without_clashes(page, "#guess-map"))
    # A guess right on a name: the name makes way for the pin.
    name = page.locator("#guess-map .place-name.city span").first
    label, where = name.text_content(), name.bounding_box()
    map_box = page.locator("#guess-map").bounding_box()
    assert where is not None and map_box is not None
    guess_by_clicking(
        page,
        x=(where["x"] + where["width"] / 2 - map_box["x"]) / map_box["width"],
        y=(where["y"] + where["height"] / 2 - map_box["y"]) / map_box["height"],
    )
    page.wait_for_timeout(400)
    assert label not in names_without_clashes(page, "#guess-map")


def test_detail_is_fetched_and_drawn_only_past_its_zoom_and_the_zoom_stops_where_the_data_ends(
    page: Page, screenshot: Callable[..., Path]
) -> None:
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    start_game_in_lobby(page, rounds=1, name="Ada")
    wait_for_map(page, "#guess-map")
    wait_for_photo(page)
    detail = re.compile(r"/map/(admin1|water|towns)[.\w]*\.json$")
    assert not [url for url in fetched if detail.search(url)], "detail fetched at the world view"
    expect(page.locator("#guess-map")).to_have_attribute("data-detail", "")
    zoom_in_on(page, 45.9, 6.13, zoom=7)  # Annecy, a town of about 50,000 people
    expect(page.locator("#guess-map")).to_have_attribute("data-detail", "water admin1")
    assert {match.group(1) for url in fetched if (match := detail.search(url))} == {"admin1", "water", "towns"}
    expect(page.locator("#guess-map .place-name.town").first).to_be_attached()
    page.wait_for_timeout(500)  # the canvas paints the layers after the move
    screenshot(page, "map-detail", full_page=False)
    zoom_in_on(page, 45.9, 6.13, zoom=MAX_ZOOM)
    assert zoom_of(page, "#guess-map") == MAX_ZOOM
    expect(page.locator("#guess-map .leaflet-control-zoom-in")).to_have_class(re.compile(r"leaflet-disabled"))
    page.mouse.wheel(0, -240)
    page.wait_for_timeout(400)
    assert zoom_of(page, "#guess-map") == MAX_ZOOM


def test_the_credit_is_one_short_line_on_a_desktop_and_folded_on_a_phone(page: Page, phone_page: Page) -> None:
    start_game_in_lobby(page, rounds=1, name="Ada")
    wait_for_map(page, "#guess-map")
    credit = page.locator("#guess-map .leaflet-control-attribution")
    expect(credit).to_contain_text("Natural Earth")
    expect(credit).not_to_have_class(re.compile(r"folded"))  # open, readable, on a laptop's map
    expect_really_visible(credit.get_by_text("GeoNames"))
    box = credit.bounding_box()
    assert box is not None and box["height"] <= 26, box  # one line (the © button is 24 px)
    start_game_in_lobby(phone_page, rounds=1, name="Ada")
    wait_for_map(phone_page, "#guess-map")
    folded = phone_page.locator("#guess-map .leaflet-control-attribution")
    toggle = folded.locator(".credit-toggle")
    expect_really_visible(toggle)
    box = folded.bounding_box()
    assert box is not None and box["width"] <= 32 and box["height"] <= 26, box
    toggle.tap()
    expect(folded).not_to_have_class(re.compile(r"folded"))
    box = folded.bounding_box()
    assert box is not None and box["height"] <= 26 and box["width"] > 100, box


def test_the_first_game_page_stays_under_its_weight_on_the_wire(page: Page) -> None:
    """A first visit to a round with nothing cached (the browser's cache is turned off for the page's load): every
    response's compressed body and headers, added up."""
    game = create_game_by_api(page, set=ARENA_SET, rounds=1)
    page.context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
    responses: list[Request] = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(f"/play/{game}")
    wait_for_map(page, "#guess-map")
    wait_for_photo(page)
    page.wait_for_load_state("networkidle")
    sizes = {request.url: request.sizes() for request in responses}
    total = sum(size["responseBodySize"] + size["responseHeadersSize"] for size in sizes.values())
    heaviest = sorted(sizes, key=lambda url: -sizes[url]["responseBodySize"])[:5]
    assert total < FIRST_PAGE_BUDGET, (total, [(url, sizes[url]["responseBodySize"]) for url in heaviest])
    assert sizes[next(url for url in sizes if "/map/countries" in url)]["responseBodySize"] < 200_000  # compressed
    map_data = [url for url in sizes if "/map/" in url]
    assert len(map_data) == 2, map_data  # the borders and the names; no detail at the world view
    print(f"first game page: {total / 1024:.0f} KB on the wire in {len(sizes)} responses")


def test_reveal_and_summary_maps_name_places_on_a_phone(phone_page: Page) -> None:
    start_game_in_lobby(phone_page, rounds=1, name="Ada")
    wait_for_photo(phone_page)
    guess_by_clicking(phone_page, x=0.5, y=0.45)
    phone_page.click("#guess-button")
    expect(phone_page.locator("#reveal-map .map-pin.truth")).to_have_count(1)
    expect(phone_page.locator("#reveal-map .place-name").first).to_be_attached()
    names_without_clashes(phone_page, "#reveal-map")
    phone_page.click("#next-button")
    expect(phone_page.locator("#summary-map .map-pin.truth")).to_have_count(1)
    expect(phone_page.locator("#summary-map .place-name").first).to_be_attached()
    names_without_clashes(phone_page, "#summary-map")
