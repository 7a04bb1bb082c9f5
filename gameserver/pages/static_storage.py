"""Static files as served: fingerprinted names (cached for a year, immutable) and gzip/brotli copies, written by
`collectstatic` (run_arena runs it) and served by WhiteNoise. ES module imports (`import ... from "./api.js"`)
are rewritten to the fingerprinted names too, so a repeat visit asks for nothing."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
from django.conf import settings
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

# Brotli's best quality (11) costs about 15 times the CPU of quality 9 for some 10% fewer bytes: worth it for the
# page's scripts and styles, not for the map's detail layers (about 1 MB each, fetched only past a zoom), which would
# add seconds to every collectstatic and so to every start of the game.
BROTLI_BEST_UP_TO = 256 * 1024


def brotli_compressed(data: bytes) -> bytes:
    return bytes(brotli.compress(data, quality=11 if len(data) <= BROTLI_BEST_UP_TO else 9))


def cached(folder: Path | None, kind: str, compress: Callable[[bytes], bytes], data: bytes) -> bytes:
    """compress(data), kept in `folder` under the content's hash: a file compressed once on this machine is not
    compressed again by the next collectstatic (each start of the game, each test server), which spent some
    10 seconds of CPU at brotli's best quality on the same bytes every time. None: no cache."""
    if folder is None:
        return compress(data)
    path = folder / f"{hashlib.sha256(data).hexdigest()}.{kind}"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    compressed = compress(data)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".part-")
    with os.fdopen(handle, "wb") as output:
        output.write(compressed)
    os.replace(temporary, path)  # whole or not at all, whoever else compresses the same file at once
    return compressed


class ArenaCompressor(Compressor):
    """WhiteNoise's compressor with brotli's quality by size, both encodings cached by content (the cache's key
    names the encoder and its settings: a change to either misses)."""

    def __init__(self, *args: Any, cache: Path | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache = cache

    def compress_brotli(self, data: bytes) -> bytes:
        kind = f"br{brotli.version}-q11to{BROTLI_BEST_UP_TO}-q9"
        return cached(self.cache, kind, brotli_compressed, data)

    def compress_gzip(self, data: bytes) -> bytes:
        return cached(self.cache, "gz9", Compressor.compress_gzip, data)


class ArenaStaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
    # Before collectstatic has run (tests, a fresh checkout) a name without a manifest entry is served as is.
    manifest_strict = False

    def create_compressor(self, **kwargs: Any) -> Compressor:
        return ArenaCompressor(cache=settings.PLANET_STATIC_COMPRESSION_CACHE, **kwargs)

    def stored_name(self, name: str) -> str:
        try:
            return str(super().stored_name(name))
        except ValueError:  # not collected yet: WhiteNoise serves it from frontend/static under its own name
            return name
