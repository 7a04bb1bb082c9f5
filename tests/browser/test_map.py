"""The guess map reads like a map, offline: country names at the world view, city names as the player zooms
in (Natural Earth and GeoNames, served by the game itself; the guard fails any request leaving the machine)."""

from __future__ import annotations

import math

from playwright.sync_api import Page, expect

from tests.browser.test_game import start_game_in_lobby, wait_for_map


def world_pixel(latitude: float, longitude: float, *, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel of a point at a Leaflet zoom (256 px tiles)."""
    size = 256 * 2**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2))
    return size * (longitude + 180) / 360, size / 2 - size * y / (2 * math.pi)


def names_shown(page: Page) -> set[str]:
    return set(page.locator("#guess-map .place-name").all_text_contents())


def test_the_guess_map_names_countries_and_then_cities_as_it_zooms(page: Page) -> None:
    start_game_in_lobby(page, rounds=1, name="Ada")
    wait_for_map(page, "#guess-map")
    expect(page.locator("#guess-map .place-name.country").first).to_be_attached()
    world = names_shown(page)
    assert {"Brazil", "Russia", "China"} <= world and "Lyon" not in world
    # Zoom in over France with the mouse wheel, as a player would: Leaflet keeps the point under the pointer.
    box = page.locator("#guess-map").bounding_box()
    assert box is not None
    x, y = world_pixel(46.5, 3.0, zoom=1.5)
    centre_x, centre_y = world_pixel(20.0, 0.0, zoom=1.5)  # the map opens centred on 20° N, 0°, zoom 1.5
    page.mouse.move(box["x"] + box["width"] / 2 + x - centre_x, box["y"] + box["height"] / 2 + y - centre_y)
    for _ in range(12):
        if "Lyon" in names_shown(page):
            break
        page.mouse.wheel(0, -120)
        page.wait_for_timeout(400)
    shown = names_shown(page)
    assert {"Paris", "Lyon"} <= shown, shown
    assert "Brazil" not in shown  # only what is in view is drawn
    expect(page.locator("#guess-map .leaflet-control-attribution")).to_contain_text("GeoNames")
