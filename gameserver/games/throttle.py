"""Rate limits: a sliding window per client and scope, counted in the shared cache (Redis in production, so every
web process counts together; one process's memory when embedded). Limits come from settings.RATE_LIMITS.

Each limit keeps the times of the requests it admitted in the last window: a request is admitted when fewer
than `requests` were admitted in the `window_s` seconds before it, so no window of that length, wherever it
starts, holds more (a fixed window let twice the limit through across its boundary). One check may count
several limits at once (a round's first serve: per address and per game); it is admitted by all or spent in
none. On Redis a check is one round trip (a Lua script); in a process's memory a lock makes it one step. While
the cache cannot be reached, nothing is counted and the game goes on."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# KEYS: one sorted set of admitted request times per limit. ARGV: now, this request's member, then requests and
# window seconds per key. Returns {0, 0} when admitted (into every set), else {milliseconds to wait, the index
# of the limit that waits longest}.
_REDIS_SCRIPT = """
local now = tonumber(ARGV[1])
local wait, worst = 0, 0
for i, key in ipairs(KEYS) do
  local requests, window = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= requests then
    local oldest = redis.call('ZRANGE', key, count - requests, count - requests, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait, worst = until_free, i end
  end
end
if worst > 0 then return {math.max(1, math.ceil(wait * 1000)), worst} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, tonumber(ARGV[2 * i + 2]) + 1)
end
return {0, 0}
"""
# LocMemCache lives in this process: this lock makes its read and write one step for every thread.
_memory_lock = threading.Lock()


@dataclass(frozen=True)
class Limit:
    requests: int
    window_s: int


class RateLimited(Exception):
    def __init__(self, *, scope: str, retry_after_s: int) -> None:
        super().__init__(f"too many requests ({scope}): try again in {retry_after_s} s")
        self.scope = scope
        self.retry_after_s = retry_after_s


def limit_parse(text: str) -> Limit:
    """'20/60' = 20 requests per 60 seconds (the settings module checks the form at start)."""
    requests, window = text.split("/")
    return Limit(int(requests), int(window))


def rate_limit_hit(*, scope: str, key: str) -> None:
    """Count one request of `key` in `scope`; RateLimited once its allowance for the last window is spent."""
    rate_limits_hit(checks=[(scope, key)])


def rate_limits_hit(*, checks: Sequence[tuple[str, str]]) -> None:
    """Count one request against every (scope, key) in `checks`, or against none: RateLimited (naming the limit
    that frees up last) when any is spent."""
    if not checks:
        return
    limits = [limit_parse(settings.RATE_LIMITS[scope]) for scope, _ in checks]
    names = [f"ratelimit:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}" for scope, key in checks]
    now = time.time()
    try:
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            wait_s, worst = _admit_on_redis(backend=backend, names=names, limits=limits, now=now)
        else:
            wait_s, worst = _admit_in_cache(backend=backend, names=names, limits=limits, now=now)
    except Exception:  # the cache cannot be reached (Redis restarting): the game goes on, uncounted
        logger.warning(
            "rate limits %s not counted: the cache cannot be reached",
            ", ".join(scope for scope, _ in checks),
            exc_info=True,
        )
        return
    if wait_s > 0:
        raise RateLimited(scope=checks[worst][0], retry_after_s=max(1, math.ceil(wait_s - 1e-6)))


def _admit_on_redis(*, backend: RedisCache, names: list[str], limits: list[Limit], now: float) -> tuple[float, int]:
    """One round trip: the script trims, counts and admits atomically (EVALSHA; the script is loaded once)."""
    client = backend._cache.get_client(write=True)
    keys = [backend.make_and_validate_key(name) for name in names]
    arguments: list[str | int] = [repr(now), f"{now!r}:{secrets.token_hex(6)}"]
    for limit in limits:
        arguments += [limit.requests, limit.window_s]
    wait_ms, worst = client.register_script(_REDIS_SCRIPT)(keys=keys, args=arguments)
    return int(wait_ms) / 1000, max(0, int(worst) - 1)


def _admit_in_cache(*, backend: BaseCache, names: list[str], limits: list[Limit], now: float) -> tuple[float, int]:
    """The same over get and set under a process lock: exact for the embedded LocMemCache (one process)."""
    with _memory_lock:
        logs = [
            sorted(t for t in backend.get(name, []) if t > now - limit.window_s)
            for name, limit in zip(names, limits, strict=True)
        ]
        waits = [
            log[len(log) - limit.requests] + limit.window_s - now if len(log) >= limit.requests else 0.0
            for log, limit in zip(logs, limits, strict=True)
        ]
        if max(waits) > 0:
            return max(waits), waits.index(max(waits))
        for name, log, limit in zip(names, logs, limits, strict=True):
            backend.set(name, [*log, now], timeout=limit.window_s + 1)
    return 0.0, 0
