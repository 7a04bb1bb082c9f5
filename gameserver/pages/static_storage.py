"""Static files as served: fingerprinted names (cached for a year, immutable) and gzip/brotli copies, written by
`collectstatic` (run_arena runs it) and served by WhiteNoise. ES module imports (`import ... from "./api.js"`)
are rewritten to the fingerprinted names too, so a repeat visit asks for nothing."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ArenaStaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
    # Before collectstatic has run (tests, a fresh checkout) a name without a manifest entry is served as is.
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return str(super().stored_name(name))
        except ValueError:  # not collected yet: WhiteNoise serves it from frontend/static under its own name
            return name
