"""Where a dataset's images are, as downloaded: a folder, zip archives (OSV-5M's numbered shards), a tar archive
(whole or split into parts: `x.tar.part-aa`, `x.tar.00`, ...), GeoEstimation's msgpack shards (`shard_N.msg`, each
record `{"image": jpeg bytes, "id": IMG_ID}`, how its downloader stores MP-16), or several of these at once (a
half-extracted OSV-5M: the zips and the folders extracted from some of them).

Each source lists its image names and reads one image's bytes. Sources are pickled to `prepare --jobs N`'s worker
processes, so none keeps an open file across pickling.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import msgpack

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# A split archive's parts: `split -b` names them .aa/.ab or .00/.01, others .part-aa, .part1 or .001.
_PART = re.compile(r"^(?P<stem>.+\.tar(?:\.gz|\.bz2|\.xz)?)\.(?:part-?)?(?P<part>[a-z]{2,3}|\d{1,3})$")


class LayoutError(ValueError):
    """A dataset that does not match its layout; the message names the first bad rows or the bad file."""


class ImageSource(Protocol):
    def names(self) -> set[str]: ...
    def read(self, name: str) -> bytes: ...


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


class FolderImages:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> set[str]:
        return {
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if _is_image(path.name) and path.is_file()
        }

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


class ZipImages:
    """One or more zip archives; entries are read without extracting."""

    def __init__(self, archives: list[Path]) -> None:
        self.archives = archives
        self._where: dict[str, Path] = {}
        self._open: dict[Path, zipfile.ZipFile] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_open": {}}

    def names(self) -> set[str]:
        for archive in self.archives:
            try:
                with zipfile.ZipFile(archive) as opened:
                    infos = opened.infolist()
            except (zipfile.BadZipFile, OSError) as error:
                raise LayoutError(
                    f"{archive}: not a whole zip archive ({error}): an interrupted download? fetch it again"
                ) from None
            for info in infos:
                if not info.is_dir() and _is_image(info.filename):
                    self._where[info.filename] = archive
        return set(self._where)

    def read(self, name: str) -> bytes:
        archive = self._where[name]
        if archive not in self._open:
            self._open[archive] = zipfile.ZipFile(archive)
        return self._open[archive].read(name)


class ConcatenatedFile(io.RawIOBase):
    """Several files read as one (the parts of a split archive), seekable."""

    def __init__(self, parts: list[Path]) -> None:
        super().__init__()
        self.parts = parts
        self.sizes = [part.stat().st_size for part in parts]
        self.starts = [sum(self.sizes[:n]) for n in range(len(parts))]
        self.total = sum(self.sizes)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.total}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self.position < self.total:
            part = max(n for n, start in enumerate(self.starts) if start <= self.position)
            with self.parts[part].open("rb") as handle:
                handle.seek(self.position - self.starts[part])
                chunk = handle.read(min(len(view) - done, self.starts[part] + self.sizes[part] - self.position))
            if not chunk:
                break
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
            self.position += len(chunk)
        return done


def archive_parts(path: Path) -> list[Path]:
    """The parts of a split tar archive named by one part or by the whole's name; [path] when it is not split."""
    match = _PART.match(path.name)
    stem = match.group("stem") if match else path.name
    parts = sorted(
        candidate
        for candidate in path.parent.glob(f"{glob_escape(stem)}.*")
        if (found := _PART.match(candidate.name)) and found.group("stem") == stem
    )
    return parts if parts and (match or not path.exists()) else [path]


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


class TarImages:
    """A tar archive, plain or compressed, whole or in parts (read as one stream)."""

    def __init__(self, parts: list[Path]) -> None:
        self.parts = parts
        self._tar: tarfile.TarFile | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tar": None}

    def _open(self) -> tarfile.TarFile:
        stream = io.BufferedReader(ConcatenatedFile(self.parts)) if len(self.parts) > 1 else None
        return tarfile.open(self.parts[0] if stream is None else None, fileobj=stream)

    def names(self) -> set[str]:
        try:
            with self._open() as opened:
                return {member.name for member in opened.getmembers() if member.isfile() and _is_image(member.name)}
        except (tarfile.TarError, EOFError, OSError) as error:
            shown = self.parts[0] if len(self.parts) == 1 else f"{self.parts[0]} (+{len(self.parts) - 1} parts)"
            raise LayoutError(
                f"{shown}: not a whole tar archive ({error}): an interrupted download or a missing part?"
            ) from None

    def read(self, name: str) -> bytes:
        if self._tar is None:
            self._tar = self._open()
        extracted = self._tar.extractfile(name)
        if extracted is None:
            raise KeyError(name)
        return extracted.read()


class MsgpackImages:
    """GeoEstimation's `shard_N.msg` files: msgpack records {"image": bytes, "id": str}, one after another."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._where: dict[str, tuple[Path, int, int]] = {}
        self.damaged: list[str] = []  # shards cut mid-record (an interrupted download): their tail is missing

    def names(self) -> set[str]:
        shards = sorted(self.root.glob("shard_*.msg"), key=lambda path: int(re.sub(r"\D", "", path.stem) or 0))
        for shard in shards:
            size, start = shard.stat().st_size, 0
            with shard.open("rb") as handle:
                # raw: the old writer (msgpack < 1.0) stored the bytes as str; keys then come as bytes either way.
                unpacker = msgpack.Unpacker(handle, raw=True, max_buffer_size=1 << 30)
                for record in unpacker:
                    end = unpacker.tell()
                    if isinstance(record, dict) and b"id" in record and b"image" in record:
                        identifier = record[b"id"]
                        name = identifier.decode() if isinstance(identifier, bytes) else str(identifier)
                        self._where[name] = (shard, start, end)
                    start = end
            if start < size:
                self.damaged.append(
                    f"{shard.name}: cut {size - start} bytes into a record after "
                    f"{sum(1 for where in self._where.values() if where[0] == shard)} whole ones"
                )
        return set(self._where)

    def read(self, name: str) -> bytes:
        shard, start, end = self._where[name]
        with shard.open("rb") as handle:
            handle.seek(start)
            record = msgpack.unpackb(handle.read(end - start), raw=True)
        data: bytes = record[b"image"]
        return data


class CombinedImages:
    """Several sources as one; a name found in more than one is read from the first."""

    def __init__(self, sources: list[ImageSource]) -> None:
        self.sources = sources
        self._where: dict[str, int] = {}

    def names(self) -> set[str]:
        for index in reversed(range(len(self.sources))):
            self._where.update(dict.fromkeys(self.sources[index].names(), index))
        return set(self._where)

    def read(self, name: str) -> bytes:
        return self.sources[self._where[name]].read(name)


def image_source(path: Path) -> ImageSource:
    """A folder (of images or of msgpack shards), a zip, or a tar archive (split into parts or not)."""
    if path.is_dir():
        return MsgpackImages(path) if any(path.glob("shard_*.msg")) else FolderImages(path)
    parts = archive_parts(path)
    if len(parts) > 1:
        return TarImages(parts)
    if not path.exists():
        raise LayoutError(f"{path}: no such folder or archive")
    if zipfile.is_zipfile(path):
        return ZipImages([path])
    if tarfile.is_tarfile(path):
        return TarImages([path])
    if path.suffix == ".zip":
        raise LayoutError(f"{path}: not a whole zip archive: an interrupted download? fetch it again")
    raise LayoutError(f"{path}: not a folder, a zip or a tar archive of images")
