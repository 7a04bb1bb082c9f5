"""The one settings module. Every value comes from the environment with a safe embedded default:
no environment = SQLite, in-memory channel layer, Celery in-process; DATABASE_URL / REDIS_URL /
CELERY_BROKER_URL switch to PostgreSQL, Redis and a separate worker. Production refuses dev secrets."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

from gameserver.objectstore import object_storage
from planet_engine.manifest import data_dir

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


# Off unless asked for, the embedded game included: a debug page shows a request's local variables.
DEBUG = env_bool("DJANGO_DEBUG", False)
PRODUCTION = env_bool("PLANET_PRODUCTION", False)
if PRODUCTION and (len(os.environ.get("DJANGO_SECRET_KEY", "")) < 32 or DEBUG):
    raise ImproperlyConfigured("production needs DJANGO_SECRET_KEY (32+ chars) and DJANGO_DEBUG off")
if PRODUCTION and not os.environ.get("DJANGO_ALLOWED_HOSTS"):
    raise ImproperlyConfigured("production needs DJANGO_ALLOWED_HOSTS (the site's host names, comma-separated)")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
# https://host origins allowed to POST when a proxy changes the Host header (comma-separated).
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# The real datasets (read in place, never copied): PLANET_DATA_DIR, default ../shared/datasets.
PLANET_DATA_DIR = data_dir()
# The panorama set the daily challenge draws from (games/daily.py); empty: the first set by name.
PLANET_DAILY_SET = os.environ.get("PLANET_DAILY_SET", "")
# The verified tier (games/rules.guess_tier, games/trust.py): an account's rounds are verified only once it has
# locked this many guesses on this many distinct UTC days before; a panorama leaves the pool once its truth was
# revealed to more identities than its set's budget (this default for new sets). Sets named in
# PLANET_PRIVATE_SETS are imported private by run_arena (their photos not published), so the embedded game can
# be tried both ways.
PLANET_VERIFIED_MIN_ROUNDS = int(os.environ.get("PLANET_VERIFIED_MIN_ROUNDS", "30"))
PLANET_VERIFIED_MIN_DAYS = int(os.environ.get("PLANET_VERIFIED_MIN_DAYS", "3"))
PLANET_EXPOSURE_BUDGET = int(os.environ.get("PLANET_EXPOSURE_BUDGET", "10"))
PLANET_PRIVATE_SETS = [name for name in os.environ.get("PLANET_PRIVATE_SETS", "").split(",") if name]
# New accounts per address per UTC day: an identity with a cost.
PLANET_SIGNUPS_PER_ADDRESS_DAY = int(os.environ.get("PLANET_SIGNUPS_PER_ADDRESS_DAY", "3"))
# Where imported, metadata-free re-encoded images and model checkpoints live.
PLANET_VAR_DIR = Path(os.environ.get("PLANET_VAR_DIR", BASE_DIR / "var"))


def installation_secret(var_dir: Path) -> str:
    """This installation's own secret key, made once under var_dir and readable by its owner only: a key in the
    source would let anyone forge what the game signs and work out the daily challenge ahead of the day."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        draft = var_dir / f".secret_key.{os.getpid()}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, path)  # atomic, and never over a secret another process made a moment ago
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or installation_secret(PLANET_VAR_DIR)
PANORAMA_STORAGE_DIR = PLANET_VAR_DIR / "panoramas"
# The object store every web process and worker shares (images, served views, checkpoints): PANORAMA_STORAGE_DIR
# by default; an S3-compatible bucket with s3://bucket[/prefix][?endpoint=URL&region=NAME] (credentials from
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the machine's role, as boto3 finds them).
PLANET_STORAGE_URL = os.environ.get("PLANET_STORAGE_URL", "")
# Each machine's verified copies of the checkpoints it loads from an S3 store.
PLANET_CHECKPOINT_CACHE = Path(os.environ.get("PLANET_CHECKPOINT_CACHE", PLANET_VAR_DIR / "checkpoints"))
PLANET_CHECKPOINT = Path(os.environ.get("PLANET_CHECKPOINT", PLANET_VAR_DIR / "demo" / "model.pt"))
# The one folder `manage.py register_model` reads checkpoints from (the admin takes them as uploads, at most
# PLANET_CHECKPOINT_UPLOAD_MAX_BYTES): a path anywhere on the server let a registration tell whether a file
# exists and quote its bytes.
PLANET_MODELS_DIR = Path(os.environ.get("PLANET_MODELS_DIR", PLANET_VAR_DIR / "models"))
PLANET_CHECKPOINT_UPLOAD_MAX_BYTES = int(os.environ.get("PLANET_CHECKPOINT_UPLOAD_MAX_BYTES", 1024 * 1024 * 1024))
# The game map draws Natural Earth borders and needs no network; a deployment may add a tile server
# ({z}/{x}/{y} URL template) with the attribution its licence asks for.
PLANET_MAP_TILE_URL = os.environ.get("PLANET_MAP_TILE_URL", "")
PLANET_MAP_TILE_ATTRIBUTION = os.environ.get("PLANET_MAP_TILE_ATTRIBUTION", "")


def content_security_policy(*, tile_url: str) -> str:
    """Scripts and styles from this server only: no inline script, event handler or style attribute runs, so a
    string that ever reaches a page as HTML cannot act. Images may also be data: (pannellum's icons, the favicon)
    and blob: (pannellum fetches a panorama and draws it from a blob URL); a tile server ({s}.host/{z}/{x}/{y})
    may serve map images. Nothing may frame a page."""
    images = ["'self'", "data:", "blob:"]
    if tile_url:
        tiles = urlparse(tile_url)
        host = re.sub(r"\{[^}]*\}", "*", tiles.netloc)
        images.append(f"{tiles.scheme}://{host}" if tiles.scheme else host)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# Sent with every response (gameserver/pages/middleware.py); enforced, never report-only.
CONTENT_SECURITY_POLICY = content_security_policy(tile_url=PLANET_MAP_TILE_URL)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "gameserver.panoramas",
    "gameserver.games",
    "gameserver.inference",
    "gameserver.realtime",
    "gameserver.stats",
    "gameserver.pages",
    "gameserver.accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gameserver.pages.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the CSRF and common middleware, so their error pages under /api/ become JSON too.
    "gameserver.games.middleware.ApiErrorsMiddleware",
    # A NUL or lone surrogate in a path, query, cookie or form: 400 before anything is looked up.
    "gameserver.games.unstorable_text.UnstorableTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gameserver.urls"
# Accounts are Django's own (gameserver/accounts): these pages, and every password validator it ships.
LOGIN_URL = "sign-in"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
# Django's PBKDF2 (a million iterations) is what a stolen database should meet, and it costs each sign-up and
# sign-in about a second of CPU on a small machine. The test suites, which sign up hundreds of accounts, ask for
# MD5 instead (Django's advice for tests) with PLANET_FAST_PASSWORD_HASHER; production refuses to start with it.
FAST_PASSWORD_HASHER = env_bool("PLANET_FAST_PASSWORD_HASHER", False)
if PRODUCTION and FAST_PASSWORD_HASHER:
    raise ImproperlyConfigured("PLANET_FAST_PASSWORD_HASHER is for tests only: production keeps Django's PBKDF2")
if FAST_PASSWORD_HASHER:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ASGI_APPLICATION = "gameserver.asgi.application"
WSGI_APPLICATION = None
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database_from_url(url: str) -> dict[str, object]:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL must be postgresql://..., not {parsed.scheme}://")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        # 0: under ASGI every request runs in its own thread, so a kept connection is never reused, only left
        # open (Django's advice). PLANET_DB_POOL=N instead shares a psycopg pool of N connections per process:
        # for web processes only (a Celery worker with the pool hung once in bench/load).
        "CONN_MAX_AGE": int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        **(
            {"OPTIONS": {"pool": {"min_size": 2, "max_size": int(os.environ["PLANET_DB_POOL"]), "timeout": 30}}}
            if os.environ.get("PLANET_DB_POOL")
            else {}
        ),
    }


DATABASES = {
    "default": database_from_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": PLANET_VAR_DIR / "arena.sqlite3",
        # Concurrent writers (a room acting at once, the in-process worker): a DEFERRED transaction that reads and
        # then writes cannot wait for the write lock and fails at once with "database is locked"; IMMEDIATE takes
        # it at BEGIN and waits up to `timeout` seconds. WAL lets reads go on beside the one writer.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # capacity: messages waiting per Redis key before group_send drops one; all sockets of a web process share
        # a key, so channels_redis's default (100) lost events with 500 players (bench/README.md).
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "capacity": int(os.environ.get("PLANET_CHANNEL_CAPACITY", "10000")),
        },
    }
    if REDIS_URL
    else {"BACKEND": "gameserver.realtime.layers.EmbeddedChannelLayer"}
}

# Shared by every web process in production (the benchmark tables' cache); per process when embedded.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Embedded: tasks run in-process (eager) so nothing needs installing; production: a broker and workers.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not (REDIS_URL or "CELERY_BROKER_URL" in os.environ))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis broker: a task whose whole worker died unacked (SIGKILL, OOM, a lost node) goes to another worker after
# this many seconds (kombu's default is an hour). Keep it above the longest task plus its retry countdown; a task
# handed out twice is harmless, as round_predict leaves an answered round alone.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {
    "visibility_timeout": int(os.environ.get("PLANET_TASK_VISIBILITY_TIMEOUT_S", "300"))
}
if CELERY_BROKER_URL.startswith("memory://"):
    # The embedded worker's in-memory broker is polled, once a second by default: the model's guess waited for
    # it (p50 1044 ms). Every 5 ms costs nothing measurable and leaves the forward pass as the wait.
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = 0.005
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker runs one task at a time on one thread: it keeps its database connection for this many tasks instead of
# Celery's default, a new connection (a PostgreSQL backend started, its catalog caches cold) for every task, which
# cost the inference worker about a tenth of its CPU per round (bench/README.md). A connection that failed is
# replaced before the next task (gameserver/celery.py). Web processes are unaffected (DATABASE_CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = int(os.environ.get("PLANET_WORKER_DB_REUSE_MAX", "1000"))
# The model's guess on a round (games/tasks.py: predict_round, registered under its first name,
# gameserver.inference.tasks.predict_round) goes to the inference workers; the game's other tasks (stocking served
# encodings: games/serving_stock.py) ride on that queue, which every deployment consumes; with no worker they wait,
# and serving encodes on the spot. Imports run on their own queue.
CELERY_TASK_ROUTES = {
    "gameserver.inference.tasks.*": {"queue": "inference"},
    "gameserver.games.tasks.*": {"queue": "inference"},
    "gameserver.panoramas.tasks.*": {"queue": "imports"},
}
# Encodings of each image a new game will serve, made ahead by the worker (games/serving_stock.py); 0: none, each
# first serve encodes on the request. Off by default: the worker makes them in turn with the model's guesses, and
# on a worker without CPU to spare (one sharing the web's cores) that delayed the guesses (docs/benchmarks.md).
PLANET_SERVING_STOCK = int(os.environ.get("PLANET_SERVING_STOCK", "0"))
# Rounds of one model predicted in one forward pass by a worker (the rounds waiting when a task runs).
INFERENCE_BATCH = int(os.environ.get("PLANET_INFERENCE_BATCH", "16"))
# auto: ONNX Runtime on a CPU worker, torch (CUDA, batched) on a GPU worker; torch or onnx to force one.
INFERENCE_BACKEND = os.environ.get("PLANET_INFERENCE_BACKEND", "auto")
# ONNX Runtime's threads per worker process; 0 lets it take every core (a worker alone on its machine).
INFERENCE_THREADS = int(os.environ.get("PLANET_INFERENCE_THREADS", "0" if REDIS_URL else "1"))

STATIC_URL = "static/"
# Static files from STATIC_ROOT once collectstatic has run (fingerprinted, compressed); until then straight from
# frontend/static, with DEBUG off as well.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = PLANET_VAR_DIR / "static"
# collectstatic's gzip and brotli copies kept by content (gameserver/pages/static_storage.py), so a start of the game
# compresses only what changed; "" compresses everything every time.
_compression_cache = os.environ.get("PLANET_STATIC_COMPRESSION_CACHE", str(BASE_DIR / ".cache" / "static-compressed"))
PLANET_STATIC_COMPRESSION_CACHE = Path(_compression_cache) if _compression_cache else None


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "gameserver.pages.static_storage.ArenaStaticFilesStorage"},
    "planet": object_storage(PLANET_STORAGE_URL),
}
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"] if (BASE_DIR / "frontend" / "static").is_dir() else []

# Upload and image limits: refuse bombs before decoding them.
PANORAMA_MAX_PIXELS = 40_000_000
PANORAMA_MAX_BYTES = 30 * 1024 * 1024
# Zip uploads in the admin: the upload itself, and what it may unpack to.
PANORAMA_UPLOAD_MAX_BYTES = int(os.environ.get("PANORAMA_UPLOAD_MAX_BYTES", 500 * 1024 * 1024))
PANORAMA_ZIP_MAX_BYTES = 2 * PANORAMA_UPLOAD_MAX_BYTES
PANORAMA_ZIP_MAX_FILES = 20_000
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Requests per client, as requests/seconds in any window of that length (gameserver/games/throttle.py): game
# creation and joins per IP address (a guest can mint sessions), guesses per player, round-start requests per
# address, and first serves of a round, each of which queues a model prediction, per address and per game (a
# person plays a round in seconds; 50 starts in a burst must not queue 50 predictions). Counted in CACHES, so
# shared by every web process in production.
RATE_LIMITS = {
    "games": os.environ.get("PLANET_RATE_LIMIT_GAMES", "20/60"),
    "guesses": os.environ.get("PLANET_RATE_LIMIT_GUESSES", "60/60"),
    "round_starts": os.environ.get("PLANET_RATE_LIMIT_ROUND_STARTS", "240/60"),
    "predictions": os.environ.get("PLANET_RATE_LIMIT_PREDICTIONS", "60/60"),
    "game_predictions": os.environ.get("PLANET_RATE_LIMIT_GAME_PREDICTIONS", "20/60"),
    # Sign-up and sign-in attempts (POSTs) per address: password guessing, mass sign-ups.
    "accounts": os.environ.get("PLANET_RATE_LIMIT_ACCOUNTS", "10/60"),
    # New accounts per address per UTC day (a sliding day): an identity with a cost.
    "signups": f"{PLANET_SIGNUPS_PER_ADDRESS_DAY}/86400",
}
for _scope, _limit in RATE_LIMITS.items():
    if not re.fullmatch(r"[1-9][0-9]*/[1-9][0-9]*", _limit):
        raise ImproperlyConfigured(f"rate limit {_scope} must be requests/seconds like 20/60, not {_limit!r}")
# The proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client those limits count
# (gameserver/games/client_address.py). None by default: a header from anyone else is the client's own claim.
PLANET_TRUSTED_PROXIES = tuple(
    entry.strip() for entry in os.environ.get("PLANET_TRUSTED_PROXIES", "").split(",") if entry.strip()
)
for _proxy in PLANET_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"PLANET_TRUSTED_PROXIES: {_proxy!r} is not an address or network") from None

# Production is served over HTTPS (a TLS-terminating proxy sets X-Forwarded-Proto): cookies only over TLS,
# HSTS, plain HTTP redirected. The session cookie is HttpOnly and SameSite=Lax (Django's defaults).
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000")) if PRODUCTION else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False
