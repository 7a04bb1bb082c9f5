"""collectstatic's compressed copies: brotli and gzip as served, kept by content, so a second collect (the next start
of the game, the next test server) compresses only what changed."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest
from django.core.management import call_command

from gameserver.pages import static_storage


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of what brotli compressed (the cache's misses)."""
    sizes: list[int] = []
    compress = static_storage.brotli_compressed

    def counting(data: bytes) -> bytes:
        sizes.append(len(data))
        return compress(data)

    monkeypatch.setattr(static_storage, "brotli_compressed", counting)
    return sizes


def collect(settings, root: Path, source: Path) -> None:
    settings.STATIC_ROOT = root
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]  # not the admin's
    call_command("collectstatic", "--no-input", verbosity=0)


def test_a_second_collect_compresses_only_what_changed(settings, tmp_path: Path, counted: list[int]) -> None:
    settings.PLANET_STATIC_COMPRESSION_CACHE = tmp_path / "cache"
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.js").write_text("console.log('a');\n" * 400)
    (source / "b.css").write_text("body { margin: 0 }\n" * 400)
    collect(settings, tmp_path / "first", source)
    first = len(counted)
    assert first >= 2
    collect(settings, tmp_path / "second", source)
    assert len(counted) == first  # every copy came from the cache
    (source / "a.js").write_text("console.log('changed');\n" * 400)
    collect(settings, tmp_path / "third", source)
    assert len(counted) > first  # the changed file (and the manifest naming it) compressed again
    for root in ("second", "third"):
        for compressed in (tmp_path / root).rglob("a.*.js.br"):
            plain = compressed.with_suffix("").read_bytes()
            assert brotli.decompress(compressed.read_bytes()) == plain
            assert gzip.decompress(compressed.with_suffix(".gz").read_bytes()) == plain


def test_without_a_cache_everything_is_compressed_every_time(settings, tmp_path: Path, counted: list[int]) -> None:
    settings.PLANET_STATIC_COMPRESSION_CACHE = None
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.js").write_text("console.log('a');\n" * 400)
    collect(settings, tmp_path / "first", source)
    first = len(counted)
    collect(settings, tmp_path / "second", source)
    assert len(counted) == 2 * first
    assert not (tmp_path / "cache").exists()
