"""Rate limits on the API's writes: fixed windows counted in the shared cache (Redis in production, so every
web process counts together; one process's memory when embedded). Limits come from settings.RATE_LIMITS."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    requests: int
    window_s: int


class RateLimited(Exception):
    def __init__(self, *, scope: str, retry_after_s: int) -> None:
        super().__init__(f"too many requests ({scope}): try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def limit_parse(text: str) -> Limit:
    """'20/60' = 20 requests per 60 seconds (the settings module checks the form at start)."""
    requests, window = text.split("/")
    return Limit(int(requests), int(window))


def rate_limit_hit(*, scope: str, key: str) -> None:
    """Count one request of `key` in `scope`; RateLimited once the window's allowance is spent."""
    limit = limit_parse(settings.RATE_LIMITS[scope])
    now = time.time()
    window = int(now // limit.window_s)
    counter = f"ratelimit:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}:{window}"
    try:
        cache.add(counter, 0, timeout=limit.window_s + 1)
        try:
            count = cache.incr(counter)
        except ValueError:  # the window expired between add and incr
            cache.set(counter, 1, timeout=limit.window_s + 1)
            count = 1
    except Exception:  # the cache cannot be reached (Redis restarting): the game goes on, uncounted
        logger.warning("rate limit %s not counted: the cache cannot be reached", scope, exc_info=True)
        return
    if count > limit.requests:
        raise RateLimited(scope=scope, retry_after_s=max(1, int((window + 1) * limit.window_s - now)))
