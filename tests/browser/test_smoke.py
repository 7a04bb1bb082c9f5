"""The harness itself: the real server answers in real Chromium, and the guard that fails a page on an
external request, a console error or an uncaught error does catch each of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page

if TYPE_CHECKING:  # at run time the name `conftest` may be another folder's conftest
    from tests.browser.conftest import BrowserGuard


def test_home_page_loads_offline_with_no_console_error(page: Page, screenshot: Callable[..., Path]) -> None:
    response = page.goto("/")
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    assert page.title()
    assert screenshot(page, "home").stat().st_size > 0
    # The guard's teardown assertion is the real check: no external request, no console or page error.


def test_home_page_loads_on_a_phone(phone_page: Page, screenshot: Callable[..., Path]) -> None:
    response = phone_page.goto("/")
    assert response is not None and response.status == 200
    phone_page.wait_for_load_state("networkidle")
    screenshot(phone_page, "home-phone")


def test_guard_blocks_and_records_an_external_script(page: Page, guard: BrowserGuard) -> None:
    page.set_content('<script src="http://example.com/x.js"></script><p>offline</p>')
    assert guard.external_requests == ["http://example.com/x.js"]
    with pytest.raises(AssertionError, match="external request: http://example.com/x.js"):
        guard.assert_clean()
    guard.clear()  # the teardown would fail this test otherwise


def test_guard_records_console_and_page_errors(page: Page, guard: BrowserGuard) -> None:
    page.goto("/")
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("console.error('deliberate console error')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('deliberate page error') })")
    assert any("deliberate console error" in text for text in guard.console_errors)
    assert any("deliberate page error" in text for text in guard.page_errors)
    with pytest.raises(AssertionError, match="deliberate"):
        guard.assert_clean()
    guard.clear()
