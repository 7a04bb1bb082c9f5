"""The shape of the house: no oversized source files. The import rules (no circles, late imports included; the
apps' layers; planet_engine free of Django; reads never importing writes) are import-linter contracts in
pyproject.toml, checked by `make lint`; tests/planet_engine/test_train_predict.py also checks at run time that
the engine loads no Django."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
# Generated or vendored files, not written by hand.
NOT_HAND_WRITTEN = ("frontend/static/vendor/", "frontend/package-lock.json", "/migrations/")


def _hand_written_sources() -> list[str]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        name
        for name in tracked
        if name.endswith((".py", ".js", ".css", ".html")) and not any(part in name for part in NOT_HAND_WRITTEN)
    ]


def test_no_source_file_is_over_400_lines() -> None:
    sources = _hand_written_sources()
    assert len(sources) > 50
    long = {name: n for name in sources if (n := len((ROOT / name).read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concern (over {MAX_LINES} lines): {long}"
