"""Importing a set uploaded as a zip: the archive is judged from its directory before a byte is extracted,
then extracted with a budget (a bomb can lie about its sizes), then imported all or nothing."""

from __future__ import annotations

import stat
import tempfile
import zipfile
from pathlib import Path
from typing import IO, BinaryIO

from django.conf import settings

from gameserver.panoramas.services import ImportReport, PanoramaImportError, panorama_set_import


def panorama_set_import_zip(*, archive: Path | BinaryIO, name: str, licence: str = "", attribution: str = "",
                            kind: str | None = None) -> ImportReport:
    """Import a zip holding manifest.csv (at its root or in its one top folder) and the images it names.

    The archive is checked before anything is extracted: no absolute paths, `..`, links, devices or encrypted
    entries, at most PANORAMA_ZIP_MAX_FILES entries and PANORAMA_ZIP_MAX_BYTES uncompressed (the declared
    sizes, and again while extracting, since a bomb can lie about them). It is unpacked into a temporary
    folder that is always removed; the import itself is panorama_set_import's, all or nothing.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    # Untrusted bytes: a damaged directory also raises NotImplementedError, ValueError, UnicodeDecodeError, ...
    except Exception as error:
        raise PanoramaImportError([f"not a readable zip archive: {error}"]) from None
    with bundle, tempfile.TemporaryDirectory(prefix="panorama-import-") as temporary:
        entries = [entry for entry in bundle.infolist() if not entry.is_dir()]
        problems = _zip_problems(entries)
        if problems:
            raise PanoramaImportError(problems)
        root = Path(temporary)
        budget = settings.PANORAMA_ZIP_MAX_BYTES
        for entry in entries:
            target = root / entry.filename
            try:
                target.parent.mkdir(parents=True, exist_ok=True)  # fails where a file holds the folder's name
                with bundle.open(entry) as member, target.open("wb") as sink:
                    budget -= _copy_bounded(member, sink, limit=budget)
            except OverflowError:
                raise PanoramaImportError(["the archive unpacks to more than PANORAMA_ZIP_MAX_BYTES"]) from None
            # Corrupt member, bad CRC, truncated data, zlib errors, unsupported compression, bad offsets, ...
            except Exception as error:
                raise PanoramaImportError([f"{entry.filename}: cannot be extracted: {error}"]) from None
        manifests = sorted(p for p in root.rglob("manifest.csv") if len(p.relative_to(root).parts) <= 2)
        if len(manifests) != 1:
            raise PanoramaImportError(["the archive must hold exactly one manifest.csv, at its root or in its "
                                       f"top folder; found {len(manifests)}"])
        return panorama_set_import(manifest_path=manifests[0], name=name, licence=licence,
                                   attribution=attribution, kind=kind)


def _zip_problems(entries: list[zipfile.ZipInfo]) -> list[str]:
    """Everything wrong with an archive's entries, judged from its directory before extracting a byte."""
    problems = []
    if len(entries) > settings.PANORAMA_ZIP_MAX_FILES:
        problems.append(f"{len(entries)} files is more than PANORAMA_ZIP_MAX_FILES "
                        f"({settings.PANORAMA_ZIP_MAX_FILES})")
    if sum(entry.file_size for entry in entries) > settings.PANORAMA_ZIP_MAX_BYTES:
        problems.append(f"the archive unpacks to more than PANORAMA_ZIP_MAX_BYTES "
                        f"({settings.PANORAMA_ZIP_MAX_BYTES} bytes)")
    for entry in entries:
        parts = Path(entry.filename.replace("\\", "/")).parts
        mode = entry.external_attr >> 16
        if entry.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            problems.append(f"{entry.filename}: path leaves the archive's folder")
        # Permission bits without a file type (Python's writestr writes 0o600) are a regular file too.
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            problems.append(f"{entry.filename}: not a regular file (link or device)")
        elif entry.flag_bits & 0x1:
            problems.append(f"{entry.filename}: encrypted entries are not supported")
    return problems


def _copy_bounded(source: IO[bytes], sink: IO[bytes], *, limit: int) -> int:
    """Copy at most `limit` bytes; OverflowError past it. Returns the bytes copied."""
    copied = 0
    while chunk := source.read(1 << 20):
        copied += len(chunk)
        if copied > limit:
            raise OverflowError(limit)
        sink.write(chunk)
    return copied
