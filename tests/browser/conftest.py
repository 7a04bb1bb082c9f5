"""Browser fixtures: the real game (`manage.py run_arena`, embedded mode) in a subprocess, headless Chromium
through Playwright's sync API, and pages that fail their test on any console error, uncaught page error or
request that leaves this machine (the game must work offline: every script, map and image is served here).

Our own fixtures rather than pytest-playwright: its event loop breaks the pytest-asyncio tests that run after
it. These tests run in their own pytest invocation (Makefile `test`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    Route,
    ViewportSize,
    WebSocket,
    expect,
    sync_playwright,
)

from tests.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS_DIR = REPO_ROOT / "artefacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# No GPU, no sandbox (root in CI), and none of Chromium's own calls home, which the guard would report.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP_VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Schemes that never reach the network (the favicon is `data:,`).
LOCAL_SCHEMES = {"data", "blob", "about"}
# The embedded mode: the server must not pick up the PostgreSQL/Redis pass's services.
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
ARENA_SET = "browser-synthetic"
PANORAMA_SET = "browser-panoramas"
MULTIVIEW_SET = "browser-multiview"
ARENA_MODEL = "tiny"
# run_arena imports the real demo sets (osv5m-demo, panoramax-multiview) before it serves: over a minute on a busy box.
STARTUP_TIMEOUT_S = 150.0
SERVER_LOG = pytest.StashKey[Path]()
SERVER_ENVIRONMENT = pytest.StashKey[dict[str, str]]()


@dataclass
class BrowserGuard:
    """What a page did that a test must not let pass: requests to other hosts, console errors, page errors."""

    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        # Routes do not see websockets; an external one is recorded (nothing outside answers anyway).
        page.on("websocket", self._on_websocket)

    def route(self, route: Route) -> None:
        """Serve this machine's requests; abort and record any other, so a CDN dependency fails the test."""
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in LOCAL_SCHEMES or parsed.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external_requests.append(url)
            route.abort("blockedbyclient")

    def clear(self) -> None:
        self.external_requests.clear()
        self.console_errors.clear()
        self.page_errors.clear()

    def assert_clean(self) -> None:
        problems = (
            [f"external request: {url}" for url in self.external_requests]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
        )
        assert not problems, "the page misbehaved:\n  " + "\n  ".join(problems)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location
            self.console_errors.append(f"{message.text} ({location.get('url', '')}:{location.get('lineNumber', '')})")

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}\n{error.stack or ''}".rstrip())

    def _on_websocket(self, websocket: WebSocket) -> None:
        if urlparse(websocket.url).hostname not in LOCAL_HOSTS:
            self.external_requests.append(websocket.url)


def server_environment(*, var_dir: Path, checkpoint: Path) -> dict[str, str]:
    """This process's environment in embedded mode, with its own database, storage and model."""
    environment = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    environment.update(
        PLANET_VAR_DIR=str(var_dir),
        PLANET_CHECKPOINT=str(checkpoint),
        PYTHONUNBUFFERED="1",
        PLANET_MODELS_DIR=str(checkpoint.parent),
    )  # register_model reads only from there
    # Every page of the suite comes from 127.0.0.1: one address making a few dozen games a minute. The limits
    # have their own tests (tests/gameserver/games/test_rate_limits.py); here they would refuse at random.
    environment.update(PLANET_RATE_LIMIT_GAMES="1000/60", PLANET_RATE_LIMIT_PREDICTIONS="1000/60")
    return environment


# Commands run one after the other in one process, as `manage.py` runs each (Django set up once: each process
# of its own spent seconds importing Django, torch and ONNX Runtime again).
MANAGE_ALL = """import json, sys
import django
django.setup()
from django.core.management import call_command
for command in json.loads(sys.argv[1]):
    call_command(*command)
"""


def manage_all(*commands: list[str], environment: dict[str, str]) -> None:
    """Run management commands in order in one process; fail with its output at the first that fails."""
    result = subprocess.run(
        [sys.executable, "-c", MANAGE_ALL, json.dumps(commands)],
        cwd=REPO_ROOT,
        env={"DJANGO_SETTINGS_MODULE": "gameserver.settings", **environment},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"{commands} exited {result.returncode}:\n{result.stdout}{result.stderr}", pytrace=False)


def log_tail(log: Path, *, lines: int = 200) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.is_file() else "(no output)"


def wait_until_serving(url: str, *, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll until `url` answers 200; fail with the server's output when it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"run_arena exited {process.returncode} before serving:\n{log_tail(log)}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 within {STARTUP_TIMEOUT_S:.0f} s:\n{log_tail(log)}", pytrace=False)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Daphne and the in-process worker shut down cleanly), SIGKILL if that hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def arena_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tiny_checkpoint: Path,
    synthetic_set_writer: Callable[..., Path],
) -> Iterator[str]:
    """The whole game served by `manage.py run_arena` on a free port; yields its base URL.

    Its own SQLite database and storage (PLANET_VAR_DIR), the set `browser-synthetic` (three screen-sized
    photos per synthetic region, photos only: a test that waits for a photo must never draw a panorama, which
    pannellum shows without an <img>; that was the phone test's flake), the set `browser-panoramas` (two
    equirectangular panoramas only, so a test can be sure to get one), the set `browser-multiview` (four
    places of two views) and the tiny checkpoint as the default model, so run_arena registers no other; it
    still imports the real demo sets osv5m-demo and panoramax-multiview (about 10 s).
    """
    var_dir = tmp_path_factory.mktemp("arena-var")
    manifest = synthetic_set_writer(tmp_path_factory.mktemp("arena-source"), per_region=3, seed=3, size=(640, 480))
    panoramas = synthetic_set_writer(
        tmp_path_factory.mktemp("arena-panoramas"), per_region=0, seed=4, size=(640, 480), equirectangular=2
    )
    places = synthetic_set_writer(
        tmp_path_factory.mktemp("arena-places"), per_region=2, seed=5, size=(640, 480), views_per_place=2
    )
    environment = server_environment(var_dir=var_dir, checkpoint=tiny_checkpoint)
    started = time.monotonic()
    sets = [
        ["import_panoramas", "--manifest", str(source), "--name", name, "--licence", "CC0-1.0"]
        + ["--attribution", "synthetic test images", "-v", "0"]
        for source, name in ((manifest, ARENA_SET), (panoramas, PANORAMA_SET), (places, MULTIVIEW_SET))
    ]
    manage_all(
        ["migrate", "--no-input", "-v", "0"],
        *sets,
        ["register_model", "--name", ARENA_MODEL, "--checkpoint", str(tiny_checkpoint), "--default"],
        environment=environment,
    )
    port = free_port()
    log = var_dir / "run_arena.log"
    request.config.stash[SERVER_LOG] = log
    request.config.stash[SERVER_ENVIRONMENT] = environment
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_arena", "--port", str(port)],
            cwd=REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base_url}/api/catalogue", process=process, log=log)
        print(f"\narena server up in {time.monotonic() - started:.1f} s at {base_url}")
        yield base_url
        assert process.poll() is None, f"run_arena died during the tests:\n{log_tail(log)}"
    finally:
        stop(process)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """A failed browser test shows the server's last output beside its own."""
    report = yield
    log = item.config.stash.get(SERVER_LOG, None)
    if isinstance(report, pytest.TestReport) and report.failed and log is not None:
        report.sections.append(("run_arena output (last 200 lines)", log_tail(log)))
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system package (never `playwright install`), one per test module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def guard() -> BrowserGuard:
    """What this test's pages did wrong; a test of the guard itself reads and clears it."""
    return BrowserGuard()


@contextmanager
def guarded_page(browser: Browser, guard: BrowserGuard, *, base_url: str, **context: Any) -> Iterator[Page]:
    """A page in a fresh context (own cookies, so its own player session) whose misbehaviour fails the test."""
    browser_context = browser.new_context(base_url=base_url, **context)
    browser_context.route("**/*", guard.route)
    page = browser_context.new_page()
    guard.watch(page)
    try:
        yield page
        if not page.is_closed():
            page.wait_for_timeout(100)  # let console messages still in flight arrive
    finally:
        browser_context.close()
    guard.assert_clean()


@pytest.fixture
def page(browser: Browser, guard: BrowserGuard, arena_server: str) -> Iterator[Page]:
    """A desktop page (1280x800); relative URLs go to the arena server: `page.goto("/")`."""
    with guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as desktop:
        yield desktop


@pytest.fixture
def phone_page(browser: Browser, guard: BrowserGuard, arena_server: str) -> Iterator[Page]:
    """A phone-sized touch page (390x844), for the layouts a player on a phone gets."""
    with guarded_page(
        browser,
        guard,
        base_url=arena_server,
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    ) as phone:
        yield phone


# Why an element a player should see is not seen: "" when it is. Playwright's to_be_visible passes an element
# that is off screen or under another (a button below the fold, a panel under a map), and once passed one that a
# CSS rule showed despite its `hidden` attribute: this looks at what is painted where.
REALLY_VISIBLE_PROBLEM = """element => {
    if (!element.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true }))
        return 'hidden by its computed style or an ancestor\u2019s';
    const box = element.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) return `empty box ${box.width}x${box.height}`;
    if (box.left < 0 || box.top < 0 || box.right > innerWidth || box.bottom > innerHeight)
        return `spans x ${Math.round(box.left)}..${Math.round(box.right)}, y ${Math.round(box.top)}..` +
            `${Math.round(box.bottom)} in a ${innerWidth}x${innerHeight} viewport`;
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    if (hit !== element && !element.contains(hit))
        return `covered at its centre by <${hit ? hit.tagName.toLowerCase() + (hit.id ? '#' + hit.id : '') +
            (hit.className && typeof hit.className === 'string' ? '.' + hit.className.split(' ').join('.') : '')
            : 'nothing'}>`;
    return '';
}"""


def expect_really_visible(locator: Locator, *, timeout_ms: float = 5_000) -> None:
    """Assert that a player sees `locator`: shown by its computed style (and its ancestors'), inside the viewport
    without scrolling, and not covered (what is painted at its centre is the element or inside it). Retried until
    `timeout_ms`, like Playwright's own expectations."""
    expect(locator).to_be_attached(timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        problem = locator.evaluate(REALLY_VISIBLE_PROBLEM)
        if not problem:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{locator} is not really visible: {problem}")
        locator.page.wait_for_timeout(100)


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """artefacts/screenshots/<name>.png at the repository root (gitignored), for a person to look at."""
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="session")
def screenshot() -> Callable[..., Path]:
    """`screenshot(page, "home")` writes artefacts/screenshots/home.png; a fixture because conftests cannot
    be imported by name."""
    return save_screenshot


@pytest.fixture(scope="session")
def arena_manage(request: pytest.FixtureRequest, arena_server: str) -> Callable[..., None]:
    """`arena_manage(["simulate_rounds", ...], ...)`: management commands, each a list of its arguments, run in
    order in one process on the arena server's database."""
    environment = request.config.stash[SERVER_ENVIRONMENT]

    def run(*commands: list[str]) -> None:
        manage_all(*commands, environment=environment)

    return run
