"""A web process (Django set up, the URLs and the ASGI application loaded) imports neither torch nor ONNX Runtime:
it never runs a model, and importing them cost each process about 1.3 s of start and some hundreds of MB. The
engine is imported by the process that loads a model (a worker) or registers one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = """import os, sys
os.environ['DJANGO_SETTINGS_MODULE'] = 'gameserver.settings'
import django
django.setup()
import gameserver.asgi, gameserver.urls
from django.urls import get_resolver
get_resolver().url_patterns  # every view module, the admin's included
print(sorted(name for name in ('torch', 'onnxruntime', 'onnx') if name in sys.modules))
"""


@pytest.mark.embedded
def test_a_web_process_imports_no_model_runtime() -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CHECK],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "[]", result.stdout
