"""Embedded defaults, production switches and the refusal to run production on development secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection


def test_the_suite_runs_on_the_backends_the_environment_names():
    expected_db = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert connection.vendor == expected_db
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert layer.endswith("RedisChannelLayer" if os.environ.get("REDIS_URL") else "InMemoryChannelLayer")
    from gameserver.celery import app

    assert app.conf.broker_url.startswith("redis://" if os.environ.get("REDIS_URL") else "memory://")


def settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PLANET_PROD"))}
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='gameserver.settings'; django.setup(); print('ok')"
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True)


def test_production_refuses_the_development_secret():
    result = settings_in_subprocess({"PLANET_PRODUCTION": "1", "DJANGO_DEBUG": "0"})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = settings_in_subprocess({"PLANET_PRODUCTION": "1", "DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY": "x" * 40})
    assert result.returncode != 0


def test_production_starts_with_a_real_secret():
    result = settings_in_subprocess({"PLANET_PRODUCTION": "1", "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "s" * 40})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///tmp/x"])
def test_unsupported_database_urls_are_refused(url):
    result = settings_in_subprocess({"DATABASE_URL": url})
    assert result.returncode != 0 and "postgresql" in result.stderr
