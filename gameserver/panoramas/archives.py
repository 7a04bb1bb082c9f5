"""Importing a set uploaded as a zip: the archive is judged from its directory before a byte is extracted,
then extracted with a budget (a bomb can lie about its sizes), then imported all or nothing."""

from __future__ import annotations

import csv
import stat
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import IO, BinaryIO

from django.conf import settings

from gameserver.panoramas.services import ImportReport, PanoramaImportError, Progress, panorama_set_import
from planet_engine.bounded_input import shown
from planet_engine.manifest import FILE_NAME_MAX_CHARS


def panorama_set_import_zip(
    *,
    archive: Path | BinaryIO,
    name: str,
    licence: str = "",
    attribution: str = "",
    kind: str | None = None,
    private: bool = False,
    status: str = "published",
    progress: Progress | None = None,
) -> ImportReport:
    """Import a zip holding manifest.csv (at its root or in its one top folder) and the images it names, or photos
    alone, placed by their EXIF GPS tags.

    The archive is checked before anything is extracted: no absolute paths, `..`, links, devices or encrypted
    entries, no empty or odd names (a NUL, a control character, a backslash), no two entries for one path
    (names that differ only in case, slashes or `./` count as one), no name longer than a manifest may give
    (FILE_NAME_MAX_CHARS), at most PANORAMA_ZIP_MAX_FILES entries and
    PANORAMA_ZIP_MAX_BYTES uncompressed (the declared sizes, and again while extracting, since a bomb can lie
    about them). It is unpacked into a temporary
    folder that is always removed; the import itself is panorama_set_import's, all or nothing.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    # Untrusted bytes: a damaged directory also raises NotImplementedError, ValueError, UnicodeDecodeError, ...
    except Exception as error:
        raise PanoramaImportError([f"not a readable zip archive: {error}"]) from None
    with bundle, tempfile.TemporaryDirectory(prefix="panorama-import-") as temporary:
        problems = _zip_problems(bundle.infolist())
        if problems:
            raise PanoramaImportError(problems)
        entries = [entry for entry in bundle.infolist() if not entry.is_dir()]
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
        if not manifests:
            manifests = _exif_manifest(root)
        if len(manifests) != 1:
            raise PanoramaImportError(
                [
                    "the archive must hold exactly one manifest.csv, at its root or in its "
                    f"top folder; found {len(manifests)}"
                ]
            )
        return panorama_set_import(
            manifest_path=manifests[0],
            name=name,
            licence=licence,
            attribution=attribution,
            kind=kind,
            private=private,
            status=status,
            progress=progress,
        )


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")


def _exif_manifest(root: Path) -> list[Path]:
    """A zip of photos alone: a manifest naming each photo with blank coordinates, which the import then takes
    from its EXIF GPS tags (a photo without them is a problem of its row). None when the zip holds no photo."""
    photos = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES and not p.name.startswith(".")
    )
    if not photos:
        return []
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "latitude", "longitude"])
        writer.writerows([photo.relative_to(root).as_posix(), "", ""] for photo in photos)
    return [manifest]


def _zip_problems(infos: list[zipfile.ZipInfo]) -> list[str]:
    """Everything wrong with an archive's entries, judged from its directory before extracting a byte."""
    problems = []
    # Not ZipInfo.is_dir(): a damaged directory can give an entry an empty name, which it cannot judge.
    entries = [entry for entry in infos if not entry.filename.endswith("/")]
    if len(entries) > settings.PANORAMA_ZIP_MAX_FILES:
        problems.append(f"{len(entries)} files is more than PANORAMA_ZIP_MAX_FILES ({settings.PANORAMA_ZIP_MAX_FILES})")
    if sum(entry.file_size for entry in entries) > settings.PANORAMA_ZIP_MAX_BYTES:
        problems.append(
            f"the archive unpacks to more than PANORAMA_ZIP_MAX_BYTES ({settings.PANORAMA_ZIP_MAX_BYTES} bytes)"
        )
    judged = [(entry, _entry_problem(entry)) for entry in infos]
    problems += [problem for _, problem in judged if problem]
    return problems + _same_path_problems(
        [entry for entry, problem in judged if not problem and not entry.filename.endswith("/")]
    )


def _entry_problem(entry: zipfile.ZipInfo) -> str | None:
    name = entry.orig_filename  # zipfile cuts `filename` at a NUL; this keeps it whole
    if not name:
        return "an entry has an empty name"
    if len(name) > FILE_NAME_MAX_CHARS:  # no manifest row could name it; quoted short, since it may be 64 KiB
        return f"{shown(name)}: a name longer than {FILE_NAME_MAX_CHARS} characters"
    parts = Path(entry.filename.replace("\\", "/")).parts
    if entry.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        return f"{entry.filename}: path leaves the archive's folder"
    if "\\" in name or any(unicodedata.category(character) == "Cc" for character in name):
        return f"{name!r}: a NUL, control character or backslash in a name"
    if entry.filename.endswith("/"):
        return None  # a folder: made as its files are unpacked
    # Permission bits without a file type (Python's writestr writes 0o600) are a regular file too.
    if stat.S_IFMT(entry.external_attr >> 16) not in (0, stat.S_IFREG):
        return f"{entry.filename}: not a regular file (link or device)"
    if entry.flag_bits & 0x1:
        return f"{entry.filename}: encrypted entries are not supported"
    return None


def _same_path_problems(entries: list[zipfile.ZipInfo]) -> list[str]:
    """Two entries for one path: `a.jpg` and `A.JPG`, `./a.jpg`, or `b//c` and `b/c` would unpack over each other
    (or not, depending on the file system), so which one is imported would be an accident."""
    problems = []
    seen: dict[str, str] = {}
    for entry in entries:
        parts = [part for part in entry.filename.split("/") if part not in ("", ".")]
        key = unicodedata.normalize("NFC", "/".join(parts)).casefold()
        if key in seen:
            problems.append(f"{entry.filename}: the same path as {seen[key]}")
        else:
            seen[key] = entry.filename
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
