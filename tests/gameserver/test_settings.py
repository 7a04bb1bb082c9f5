"""Embedded defaults, production switches and the refusal to run production on development secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string


@pytest.mark.embedded
def test_the_suite_runs_on_the_backends_the_environment_names():
    expected_db = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert connection.vendor == expected_db
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert isinstance(backend, str)
    layer = import_string(backend)
    # Embedded: Channels' in-memory layer (gameserver.realtime.layers.EmbeddedChannelLayer extends it).
    assert issubclass(layer, RedisChannelLayer if os.environ.get("REDIS_URL") else InMemoryChannelLayer)
    from gameserver.celery import app

    assert app.conf.broker_url.startswith("redis://" if os.environ.get("REDIS_URL") else "memory://")


def settings_in_subprocess(env: dict[str, str], *, show: str = "'ok'") -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh process with `env`; print `show` (an expression over `s`, the settings).

    Django's settings as it reads them first (the module over Django's defaults), without importing the apps:
    every check of the environment is made there, and django.setup() (torch and ONNX Runtime) took seven times as
    long."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "PLANET_PROD", "PLANET_FAST_PASSWORD_HASHER"))
    }
    # Reading one setting loads them all (and raises what the module refuses), as the first request would.
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'gameserver.settings'; "
        f"from django.conf import settings as s; s.INSTALLED_APPS; print({show})"
    )
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True)


def test_production_refuses_the_development_secret():
    result = settings_in_subprocess({"PLANET_PRODUCTION": "1", "DJANGO_DEBUG": "0"})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = settings_in_subprocess({"PLANET_PRODUCTION": "1", "DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY": "x" * 40})
    assert result.returncode != 0


PRODUCTION = {
    "PLANET_PRODUCTION": "1",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "s" * 40,
    "DJANGO_ALLOWED_HOSTS": "arena.example.org",
}


def test_production_starts_with_a_real_secret_and_is_served_securely():
    result = settings_in_subprocess(
        PRODUCTION,
        show="s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, "
        "s.DEBUG, s.ALLOWED_HOSTS",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "False", "['arena.example.org']"]


def test_production_needs_its_host_names():
    result = settings_in_subprocess({**PRODUCTION, "DJANGO_ALLOWED_HOSTS": ""})
    assert result.returncode != 0 and "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_development_serves_plain_http_on_loopback():
    assert not settings.SESSION_COOKIE_SECURE and not settings.SECURE_SSL_REDIRECT
    assert settings.X_FRAME_OPTIONS == "DENY" and settings.SESSION_COOKIE_HTTPONLY


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///tmp/x"])
def test_unsupported_database_urls_are_refused(url):
    result = settings_in_subprocess({"DATABASE_URL": url})
    assert result.returncode != 0 and "postgresql" in result.stderr


@pytest.mark.parametrize("limit", ["20", "0/60", "x/60", "20/0"])
def test_a_malformed_rate_limit_is_refused_at_start(limit):
    result = settings_in_subprocess({"PLANET_RATE_LIMIT_GUESSES": limit})
    assert result.returncode != 0 and "rate limit guesses" in result.stderr


def test_debug_is_off_unless_asked_for_the_embedded_game_included():
    assert settings_in_subprocess({}, show="s.DEBUG").stdout.strip() == "False"
    assert settings_in_subprocess({"DJANGO_DEBUG": "1"}, show="s.DEBUG").stdout.strip() == "True"


@pytest.mark.parametrize(
    "variable, scope",
    [
        ("PLANET_RATE_LIMIT_ROUND_STARTS", "round_starts"),
        ("PLANET_RATE_LIMIT_PREDICTIONS", "predictions"),
        ("PLANET_RATE_LIMIT_GAME_PREDICTIONS", "game_predictions"),
    ],
)
def test_each_rate_limit_comes_from_the_environment_and_is_checked(variable: str, scope: str):
    assert settings_in_subprocess({variable: "7/30"}, show=f"s.RATE_LIMITS[{scope!r}]").stdout.split() == ["7/30"]
    refused = settings_in_subprocess({variable: "lots"})
    assert refused.returncode != 0 and "must be requests/seconds" in refused.stderr


def test_the_object_store_is_the_local_folder_unless_an_s3_url_is_set():
    from gameserver.objectstore import LocalObjectStorage, object_storage, planet_storage

    local = planet_storage()
    assert isinstance(local, LocalObjectStorage)
    assert local.location == str(settings.PANORAMA_STORAGE_DIR)  # the test's own folder
    store = object_storage("s3://arena-objects/prod/v1?endpoint=http%3A//10.0.0.5%3A9000&region=eu-west-1")
    assert store == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "arena-objects",
            "location": "prod/v1",
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 60,
            "endpoint_url": "http://10.0.0.5:9000",
            "addressing_style": "path",
            "region_name": "eu-west-1",
        },
    }
    result = settings_in_subprocess({"PLANET_STORAGE_URL": "s3://bucket/p"}, show="s.STORAGES['planet']['OPTIONS']")
    assert result.returncode == 0 and "'bucket_name': 'bucket'" in result.stdout


@pytest.mark.parametrize(
    "url,message",
    [
        ("/srv/objects", "must be s3://"),
        ("s3://", "must be s3://"),
        ("gs://bucket", "must be s3://"),
        ("s3://b?acl=public", "unknown option"),
    ],
)
def test_an_object_store_url_that_is_not_s3_is_refused_at_start(url: str, message: str):
    result = settings_in_subprocess({"PLANET_STORAGE_URL": url})
    assert result.returncode != 0 and "PLANET_STORAGE_URL" in result.stderr and message in result.stderr


def test_the_embedded_game_makes_its_own_secret_once(tmp_path):
    """Without DJANGO_SECRET_KEY the embedded game signs with a secret of its own, made once under PLANET_VAR_DIR
    (readable by its owner only): a key in the source would let anyone forge what it signs and work out the daily
    challenge's rounds ahead of the day."""
    env = {"PLANET_VAR_DIR": str(tmp_path / "var")}
    first = settings_in_subprocess(env, show="s.SECRET_KEY")
    again = settings_in_subprocess(env, show="s.SECRET_KEY")
    other = settings_in_subprocess({"PLANET_VAR_DIR": str(tmp_path / "elsewhere")}, show="s.SECRET_KEY")
    assert first.returncode == 0, first.stderr
    secret = first.stdout.strip()
    assert len(secret) >= 50 and secret != "dev-only-insecure-secret-key"
    assert again.stdout.strip() == secret and other.stdout.strip() != secret
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    from_environment = settings_in_subprocess({**env, "DJANGO_SECRET_KEY": "k" * 50}, show="s.SECRET_KEY")
    assert from_environment.stdout.strip() == "k" * 50


def test_passwords_get_django_s_slow_hash_unless_the_tests_ask_and_production_refuses_the_fast_one():
    shown = "s.PASSWORD_HASHERS[0]"
    assert settings_in_subprocess({"PLANET_FAST_PASSWORD_HASHER": "0"}, show=shown).stdout.strip() == (
        "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    )
    assert settings_in_subprocess({"PLANET_FAST_PASSWORD_HASHER": "1"}, show=shown).stdout.strip() == (
        "django.contrib.auth.hashers.MD5PasswordHasher"
    )
    refused = settings_in_subprocess(
        {
            "PLANET_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "arena.example",
            "PLANET_FAST_PASSWORD_HASHER": "1",
        }
    )
    assert refused.returncode != 0 and "PLANET_FAST_PASSWORD_HASHER" in refused.stderr
    from django.contrib.auth.hashers import get_hasher

    assert get_hasher().algorithm == "md5"  # this suite's own settings
