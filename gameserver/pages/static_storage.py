"""Static files as served: fingerprinted names (cached for a year, immutable) and gzip/brotli copies, written by
`collectstatic` (run_arena runs it) and served by WhiteNoise. ES module imports (`import ... from "./api.js"`)
are rewritten to the fingerprinted names too, so a repeat visit asks for nothing."""

from __future__ import annotations

from typing import Any

import brotli
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

# Brotli's best quality (11) costs about 15 times the CPU of quality 9 for some 10% fewer bytes: worth it for the
# page's scripts and styles, not for the map's detail layers (about 1 MB each, fetched only past a zoom), which would
# add seconds to every collectstatic and so to every start of the game.
BROTLI_BEST_UP_TO = 256 * 1024


class ArenaCompressor(Compressor):
    @staticmethod
    def compress_brotli(data: bytes) -> bytes:
        return bytes(brotli.compress(data, quality=11 if len(data) <= BROTLI_BEST_UP_TO else 9))


class ArenaStaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
    # Before collectstatic has run (tests, a fresh checkout) a name without a manifest entry is served as is.
    manifest_strict = False

    def create_compressor(self, **kwargs: Any) -> Compressor:
        return ArenaCompressor(**kwargs)

    def stored_name(self, name: str) -> str:
        try:
            return str(super().stored_name(name))
        except ValueError:  # not collected yet: WhiteNoise serves it from frontend/static under its own name
            return name
