"""An operator command run on a database that was never migrated says so in one line, instead of a traceback
about a missing table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "arguments",
    [
        ["register_model", "--name", "planet-v1", "--checkpoint", "model.pt"],
        ["import_panoramas", "--manifest", "manifest.csv", "--name", "street"],
    ],
)
def test_a_command_before_migrate_says_to_migrate(tmp_path: Path, tiny_checkpoint: Path, arguments: list[str]) -> None:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    environment.update(PLANET_VAR_DIR=str(tmp_path / "var"), PLANET_MODELS_DIR=str(tiny_checkpoint.parent))
    run = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "CommandError: the database is not migrated (a new database?): run `python manage.py migrate` first"
    ]
