"""Settings for bench/load.py's web server: the game's own settings, plus one route the game does not have.

The load benchmark compares the guess endpoint with a bare Django JSON view served by the same process,
through the same middleware; the game has no such view, so this URLconf adds one at /bench/bare instead of
putting a benchmark route into gameserver/. Everything else is gameserver.settings unchanged, except for two
experiments bench/load.py can switch on to measure what they would change: `--db-pool N` (PLANET_LOAD_DB_POOL:
Django's psycopg pool, at most N connections per process; needs psycopg-pool) and `--layer-capacity N`
(PLANET_LOAD_LAYER_CAPACITY: the Redis channel layer's capacity). The worker runs with these settings too.
"""

import os

from gameserver.settings import *  # noqa: F403
from gameserver.settings import DATABASES

ROOT_URLCONF = "bench.load_urls"

if os.environ.get("PLANET_LOAD_DB_POOL"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent connections
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": int(os.environ["PLANET_LOAD_DB_POOL"]),
                                                "timeout": 30}}

if os.environ.get("PLANET_LOAD_LAYER_CAPACITY") and CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):  # noqa: F405
    # channels_redis drops a group_send past `capacity` (default 100) messages waiting in one Redis key, and all
    # sockets of one server process share one key: --layer-capacity measures a larger one.
    CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = int(os.environ["PLANET_LOAD_LAYER_CAPACITY"])  # noqa: F405

# Django prints a 500's traceback only with DEBUG on; the benchmark runs with DEBUG off and wants them in the log.
# channels_redis says only at INFO that it dropped events ("channels over capacity"): the benchmark counts them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
                "channels_redis": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
