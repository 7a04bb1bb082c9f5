"""Socket events delivered at the worst moments. The server's events (realtime/consumers.py) race the page's own
requests: here every frame is held back by Playwright and let through at a chosen instant — while the guess's
answer is still on its way (before the reveal is drawn) and after the next round has started — and the page must
end where a player expects it. The third moment, during the refresh after the guess, is in test_polish.py."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, Route, WebSocketRoute, expect

from tests.browser.test_accounts import wait_for_the_model
from tests.browser.test_game import MODEL_TIMEOUT_MS, guess_by_clicking, start_game_in_lobby, wait_for_photo


class HeldSocket:
    """The game's websocket with every server frame held until `release`."""

    def __init__(self, page: Page) -> None:
        self.held: list[str | bytes] = []
        self.routes: list[WebSocketRoute] = []
        self.passing = False
        page.route_web_socket(re.compile(r"/ws/games/"), self._hold)

    def _hold(self, route: WebSocketRoute) -> None:
        self.routes.append(route)

        def relay(message: str | bytes) -> None:
            if self.passing:
                route.send(message)
            else:
                self.held.append(message)

        route.connect_to_server().on_message(relay)

    def release(self, *extra: dict[str, object], keep_passing: bool = True) -> None:
        """Send what was held, then `extra` frames (events the server may have sent before the socket was up)."""
        self.passing = keep_passing
        for message in [*self.held, *(json.dumps(frame) for frame in extra)]:
            self.routes[-1].send(message)
        self.held.clear()


def round_one_guessed_once_planet_answered(page: Page) -> None:
    """A two-round solo game started from the lobby, round 1 guessed after PlaNet's guess is in."""
    start_game_in_lobby(page, rounds=2, name="Ada")
    wait_for_photo(page)
    wait_for_the_model(page)
    guess_by_clicking(page, x=0.5, y=0.5)
    page.click("#guess-button")


def test_planet_and_the_table_show_when_their_event_comes_before_the_reveal_is_drawn(page: Page) -> None:
    socket = HeldSocket(page)
    released = False

    def answer_after_the_events(route: Route) -> None:
        nonlocal released
        response = route.fetch()  # the guess is locked on the server; its answer is not yet with the page
        socket.release({"event": "model_ready", "round": 1}, {"event": "round_complete", "round": 1})
        page.wait_for_timeout(500)  # the page handles them with no reveal drawn yet
        released = True
        route.fulfill(response=response)

    start_game_in_lobby(page, rounds=2, name="Ada")
    page.route(re.compile(r"/api/rounds/[^/]+/guess$"), answer_after_the_events)
    wait_for_photo(page)
    wait_for_the_model(page)
    guess_by_clicking(page, x=0.5, y=0.5)
    page.click("#guess-button")
    expect(page.locator("#reveal-title")).to_have_text(re.compile(r"Round 1: "))
    assert released
    expect(page.locator("#reveal-panel .map-pin.model")).to_have_count(1, timeout=MODEL_TIMEOUT_MS)
    expect(page.locator("#winners tbody tr")).to_have_count(6)
    expect(page.locator(".score-card.model")).to_contain_text(re.compile(r"\d[\d,.]* k?m away"))
    expect(page.locator("#next-button")).to_be_enabled()


def test_round_one_events_that_come_after_round_two_started_leave_round_two_alone(page: Page) -> None:
    socket = HeldSocket(page)
    round_one_guessed_once_planet_answered(page)
    expect(page.locator("#winners tbody tr")).to_have_count(6)
    page.click("#next-button")
    expect(page.locator("#round-title")).to_have_text("Round 2 of 2")
    wait_for_photo(page)
    assert socket.held, "round 1's events were held back"
    socket.release(
        {"event": "model_ready", "round": 1},
        {"event": "round_complete", "round": 1},
        {"event": "player_guessed", "round": 1, "name": "Ada", "guesses": 1, "players": 1},
    )
    page.wait_for_timeout(1500)  # what the page does with them: an API call or two
    expect(page.locator("#round-panel")).to_be_visible()
    expect(page.locator("#reveal-panel")).to_be_hidden()
    expect(page.locator("#round-title")).to_have_text("Round 2 of 2")
    # Round 2 still plays: a guess locks it and its own reveal comes.
    guess_by_clicking(page, x=0.4, y=0.5)
    page.click("#guess-button")
    expect(page.locator("#reveal-title")).to_have_text(re.compile(r"Round 2: "))
    expect(page.locator("#reveal-panel .map-pin.truth")).to_have_count(1)


def test_an_event_that_changes_nothing_leaves_the_reveal_map_as_the_player_set_it(page: Page) -> None:
    # Under load a round's own events come after its reveal is drawn. Each re-reads the reveal; one that changed
    # nothing must not draw it again: that reset the view the player had zoomed to and closed the name under their
    # pointer (seen as a flaky read of the pins' names in test_security).
    socket = HeldSocket(page)
    round_one_guessed_once_planet_answered(page)
    expect(page.locator("#reveal-panel .map-pin.model")).to_have_count(1, timeout=MODEL_TIMEOUT_MS)
    socket.release()  # what the server sent so far; frames pass from now on
    page.wait_for_timeout(1000)
    page.click("#reveal-map .leaflet-control-zoom-in")
    page.wait_for_timeout(800)  # the zoom's animation
    truth = page.locator("#reveal-panel .map-pin.truth")
    where = truth.bounding_box()
    socket.release(
        {"event": "player_guessed", "round": 1, "name": "Ada", "guesses": 1, "players": 1},
        {"event": "round_complete", "round": 1},
    )
    page.wait_for_timeout(1500)  # the page re-reads the reveal
    assert truth.bounding_box() == where
    expect(page.locator("#reveal-title")).to_have_text(re.compile(r"Round 1: "))
