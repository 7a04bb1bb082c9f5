"""The ids clients see (games, rounds, panoramas)."""

from __future__ import annotations

import secrets


def new_public_id() -> str:
    # Random, not derived from anything about the row: an id must not hint at where a panorama was taken.
    return secrets.token_urlsafe(16)
