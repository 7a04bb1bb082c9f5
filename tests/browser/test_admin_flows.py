"""The admin's flows in real Chromium on the embedded server (`make play`): a set from upload (a job page with its
progress, then its summary) to draft, published and retired, delete refused for a set counted rounds used and
allowed for one none did, and a model taken through two versions; the history shows each step."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from planet_engine.checkpoint import read_payload, save_checkpoint
from tests.browser.conftest import DESKTOP_VIEWPORT, BrowserGuard, guarded_page
from tests.conftest import zip_of

ADMIN_USER, ADMIN_PASSWORD = "flows-admin", "a-long-test-password-2"
JOB_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def superuser(arena_manage: Callable[..., None]) -> None:
    arena_manage(
        [
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; get_user_model().objects"
            f".create_superuser({json.dumps(ADMIN_USER)}, '', {json.dumps(ADMIN_PASSWORD)})",
        ]
    )


@pytest.fixture
def admin(browser: Browser, guard: BrowserGuard, arena_server: str, superuser: None) -> Iterator[Page]:
    with guarded_page(browser, guard, base_url=arena_server, viewport=DESKTOP_VIEWPORT) as page:
        page.goto("/admin/login/")
        page.fill("#id_username", ADMIN_USER)
        page.fill("#id_password", ADMIN_PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#site-name")).to_be_visible()
        yield page


def upload(page: Page, name: str, archive: bytes) -> None:
    page.goto("/admin/panoramas/panoramaset/upload/")
    page.fill("#id_name", name)
    page.set_input_files(
        "#id_archive", files=[FilePayload(name=f"{name}.zip", mimeType="application/zip", buffer=archive)]
    )
    page.click("input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/panoramas/importjob/\d+/change/$"))
    expect(page.locator("#job-status")).to_be_visible()
    expect(page.locator("#job-result")).to_contain_text("panoramas", timeout=JOB_TIMEOUT_MS)


def set_action(page: Page, name: str, action: str, *, confirm: str) -> None:
    page.goto(f"/admin/panoramas/panoramaset/?q={name}")
    page.locator("tr", has_text=name).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.click(f"input[value='{confirm}']")
    expect(page.locator(".messagelist")).to_contain_text(name)


def test_a_set_goes_from_upload_to_draft_published_and_retired_with_each_step_in_the_history(
    admin: Page, synthetic_set_writer: Callable[..., Path], tmp_path: Path
) -> None:
    source = synthetic_set_writer(tmp_path / "flow", per_region=2, seed=11, size=(320, 240))
    upload(admin, "browser-flow", zip_of(source.parent))
    admin.goto("/admin/panoramas/panoramaset/?q=browser-flow")
    expect(admin.locator("td.field-status")).to_have_text("Draft (staff only)")
    set_action(admin, "browser-flow", "publish", confirm="Yes, publish")
    expect(admin.locator("td.field-status")).to_have_text("Published")
    set_action(admin, "browser-flow", "retire", confirm="Yes, retire")
    expect(admin.locator("td.field-status")).to_have_text("Retired (kept for history)")
    admin.goto("/admin/")
    expect(admin.locator("#recent-actions-module")).to_contain_text("browser-flow")
    admin.goto("/admin/panoramas/panoramaset/?q=browser-flow")
    admin.locator("a", has_text="browser-flow").first.click()
    admin.click("a.historylink")
    history = admin.locator("#change-history")
    expect(history).to_contain_text("imported as a draft")
    expect(history).to_contain_text("published")
    expect(history).to_contain_text("retired")


def test_delete_is_refused_for_a_set_counted_rounds_used_and_done_for_one_none_did(
    admin: Page, arena_manage: Callable[..., None], synthetic_set_writer: Callable[..., Path], tmp_path: Path
) -> None:
    used = synthetic_set_writer(tmp_path / "used", per_region=2, seed=12, size=(320, 240))
    arena_manage(
        ["import_panoramas", "--manifest", str(used), "--name", "browser-used", "-v", "0"],
        ["simulate_rounds", "--set", "browser-used", "--rounds", "5"],
    )
    admin.goto("/admin/panoramas/panoramaset/?q=browser-used")
    admin.locator("a", has_text="browser-used").first.click()
    admin.click("a.deletelink")
    expect(admin.locator("#content")).to_contain_text("counted round")
    expect(admin.locator("input[value*='sure']")).to_have_count(0)

    mistake = synthetic_set_writer(tmp_path / "mistake", per_region=1, seed=13, size=(320, 240))
    upload(admin, "browser-mistake", zip_of(mistake.parent))
    admin.goto("/admin/panoramas/panoramaset/?q=browser-mistake")
    admin.locator("a", has_text="browser-mistake").first.click()
    admin.click("a.deletelink")
    admin.click("input[type=submit]")
    expect(admin.locator(".messagelist")).to_contain_text("deleted")
    admin.goto("/admin/panoramas/panoramaset/?q=browser-mistake")
    expect(admin.locator("#result_list")).to_have_count(0)


def test_a_model_goes_through_two_versions_in_the_admin(admin: Page, tiny_checkpoint: Path, tmp_path: Path) -> None:
    payload, _ = read_payload(tiny_checkpoint)
    payload["git_sha"] = "browser-retrained"
    retrained = tmp_path / "retrained.pt"
    save_checkpoint(retrained, payload)
    for path in (tiny_checkpoint, retrained):
        admin.goto("/admin/inference/modelversion/register/")
        admin.fill("#id_name", "browser-model")
        admin.set_input_files("#id_checkpoint", str(path))
        admin.click("input[type=submit]")
        expect(admin.locator(".messagelist")).to_contain_text(
            re.compile("registered model", re.IGNORECASE), timeout=JOB_TIMEOUT_MS
        )
    admin.goto("/admin/inference/modelversion/?q=browser-model")
    expect(admin.locator("td.field-number")).to_have_count(2)
    expect(admin.locator("#result_list")).to_contain_text("browser-model@v2")
    admin.goto("/admin/")
    expect(admin.locator("#recent-actions-module")).to_contain_text("browser-model@v2")
