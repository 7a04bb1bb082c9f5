"""The photo viewer a player expects: wheel and pinch zoom around the pointer, drag to pan, double click, the
keyboard (+, -, 0, arrows) and full screen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import expect_really_visible
from tests.browser.test_game import start_game_in_lobby, wait_for_photo


def scale(page: Page) -> float:
    return float(page.locator("#viewer .zoomable").get_attribute("data-scale") or "1")


def offset(page: Page) -> tuple[float, float]:
    transform = page.locator("#viewer img").evaluate("img => img.style.transform")
    x, y = re.match(r"translate\((-?[\d.]+)px, (-?[\d.]+)px\)", transform).groups()  # type: ignore[union-attr]
    return float(x), float(y)


def test_a_photo_zooms_pans_and_goes_full_screen(page: Page) -> None:
    start_game_in_lobby(page, rounds=1, name="Ada")
    wait_for_photo(page)
    frame = page.locator("#viewer .zoomable")
    box = frame.bounding_box()
    assert box is not None
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    # The wheel zooms around the pointer: the point under it stays put.
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.wheel(0, -400)
    expect(frame).to_have_attribute("data-scale", re.compile(r"^(?!1\.00)"))
    zoomed = scale(page)
    x, y = offset(page)
    assert zoomed > 1.5
    assert abs(x - box["width"] * 0.25 * (1 - zoomed)) < 2 and abs(y - box["height"] * 0.25 * (1 - zoomed)) < 2

    # A drag pans it.
    page.mouse.move(centre_x, centre_y)
    page.mouse.down()
    page.mouse.move(centre_x - 80, centre_y - 40, steps=4)
    page.mouse.up()
    moved = offset(page)
    assert moved[0] == x - 80 and moved[1] == y - 40

    # The keyboard: 0 resets, + zooms in, the arrows pan, - zooms out.
    frame.focus()
    page.keyboard.press("0")
    assert scale(page) == 1.0 and offset(page) == (0.0, 0.0)
    page.keyboard.press("+")
    assert scale(page) == 1.5
    before = offset(page)
    page.keyboard.press("ArrowRight")
    assert offset(page)[0] == before[0] - 60
    page.keyboard.press("-")
    assert scale(page) == 1.0

    # A double click zooms in where it is clicked, another zooms out.
    frame.dblclick(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert scale(page) == 2.5
    frame.dblclick(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert scale(page) == 1.0

    # A pinch: two pointers moving apart.
    frame.evaluate("""frame => {
        const box = frame.getBoundingClientRect();
        const at = (id, type, dx) => frame.dispatchEvent(new PointerEvent(type, {pointerId: id, bubbles: true,
            clientX: box.left + box.width / 2 + dx, clientY: box.top + box.height / 2, pointerType: 'touch'}));
        at(1, 'pointerdown', -20); at(2, 'pointerdown', 20);
        at(1, 'pointermove', -60); at(2, 'pointermove', 60);
        at(1, 'pointerup', -60); at(2, 'pointerup', 60);
    }""")
    assert scale(page) == 3.0

    # The button's sign is drawn (no installed font has the character U+26F6 "⛶": it showed as an empty box).
    toggle = page.locator("#viewer .fullscreen-toggle")
    expect_really_visible(toggle)
    expect(toggle).to_have_text("")
    icon = toggle.locator("svg")
    expect(icon).to_have_count(1)
    icon_box = icon.bounding_box()
    assert icon_box is not None and icon_box["width"] >= 12 and icon_box["height"] >= 12, icon_box
    assert toggle.locator("svg path").evaluate("path => path.getTotalLength()") > 20
    page.click("#viewer .fullscreen-toggle")
    page.wait_for_function("() => document.fullscreenElement && document.fullscreenElement.matches('.zoomable')")
    page.keyboard.press("f")
    page.wait_for_function("() => !document.fullscreenElement")
