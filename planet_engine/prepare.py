"""`prepare`'s writer: samples -> WebDataset shards (tar files of `<key>.jpg` + `<key>.json`) beside `dataset.json`
(the shards, their sample counts, sizes and sha256, the shuffle's seed), `SHA256SUMS` (`sha256sum -c` checks them),
`locations.csv` (what `partition` reads) and `skipped.csv` (rows left out, and why).

- Mixed: a sample's shard and its place in it come from sha256(seed/key), so every shard draws from the whole
  dataset (OSV-5M's train.csv is ordered by place) and a batch mixes the world.
- Checked: every image is decoded whole; a truncated or corrupt one stops prepare naming it, or with
  `on_bad="skip"` is left out and listed.
- Parallel and resumable: shards are independent tasks (`jobs` processes); each is written as `.partial` and
  renamed when whole, and `progress.json` records the finished ones with a fingerprint of their rows. A rerun
  keeps every finished shard whose rows are unchanged and rewrites the others, so removing a row from the CSV
  rewrites the one shard that held it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import pickle
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from planet_engine.image_sources import ImageSource
from planet_engine.layouts import Sample
from planet_engine.progress import Progress

DEFAULT_SHARD_BYTES = 1_000_000_000
INDEX = "dataset.json"
PROGRESS = "progress.json"
TAR_OVERHEAD_BYTES = 1536  # two 512-byte headers and padding per sample


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def decode_problem(data: bytes) -> str | None:
    """Why `data` is not a whole image (decoded to its last byte: `verify()` passes a truncated JPEG), or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            # A JPEG decodes at 1/8 scale from every coefficient: the whole stream is read, 8-30x faster.
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except Exception as error:  # Pillow raises many kinds for a broken file
        return str(error) or type(error).__name__
    return None


def _rank(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}/{key}".encode()).digest()


def plan(samples: list[Sample], *, seed: int, shards: int) -> list[list[int]]:
    """Sample indices of each shard, in the order written: by sha256(seed/key), so the same key always lands in
    the same shard at the same place whatever else the dataset holds."""
    ranked = sorted(range(len(samples)), key=lambda index: _rank(seed, samples[index].key))
    planned: list[list[int]] = [[] for _ in range(shards)]
    for index in ranked:
        planned[int.from_bytes(_rank(seed, samples[index].key)[:8], "big") % shards].append(index)
    return planned


def shard_count(samples: list[Sample], source: ImageSource, shard_bytes: int) -> int:
    """Shards of about `shard_bytes`, from the mean size of up to 64 images spread over the dataset."""
    if not samples:
        return 1
    probe = samples[:: max(1, len(samples) // 64)][:64]
    mean = sum(len(source.read(sample.image)) for sample in probe) / len(probe) + TAR_OVERHEAD_BYTES
    return max(1, round(len(samples) * mean / shard_bytes))


def _fingerprint(rows: list[Sample]) -> str:
    text = "\n".join(
        f"{s.key},{s.image},{s.latitude!r},{s.longitude!r},{json.dumps(s.meta, sort_keys=True)}" for s in rows
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ShardTask:
    out: Path
    name: str
    rows: list[Sample]
    on_bad: str


_WORKER_SOURCE: list[ImageSource] = []


def _init_worker(source: ImageSource) -> None:
    # A forked worker inherits the parent's open archives, whose file offsets it would share with its siblings:
    # a pickled copy drops them (the sources' __getstate__), so each worker opens its own.
    _WORKER_SOURCE[:] = [pickle.loads(pickle.dumps(source))]


def write_one(task: ShardTask, source: ImageSource) -> dict[str, Any]:
    """Write one shard; returns its progress record, or {"error": ...} for a bad image under on_bad="fail"."""
    partial = task.out / f"{task.name}.partial"
    bad: list[str] = []
    with tarfile.open(partial, "w") as tar:
        for sample in task.rows:
            try:
                data = source.read(sample.image)
            except Exception as error:  # a damaged archive member (bad CRC, cut stream)
                problem: str | None = f"unreadable ({error})"
            else:
                problem = decode_problem(data)
            if problem is not None:
                if task.on_bad != "skip":
                    partial.unlink()
                    return {
                        "error": f"{sample.image}: not a readable image ({problem}); rerun with --on-missing "
                        "skip to leave it out (listed in skipped.csv)"
                    }
                bad.append(f"{sample.key}: {sample.image}: not a readable image ({problem})")
                continue
            record = json.dumps(
                {"latitude": sample.latitude, "longitude": sample.longitude, **sample.meta}, sort_keys=True
            ).encode()
            _add(tar, f"{sample.key}.jpg", data)
            _add(tar, f"{sample.key}.json", record)
    final = task.out / task.name
    partial.rename(final)
    return {
        "name": task.name,
        "rows": _fingerprint(task.rows),
        "count": len(task.rows) - len(bad),
        "bad": bad,
        "bytes": final.stat().st_size,
        "sha256": sha256_file(final),
    }


def _write_in_worker(task: ShardTask) -> dict[str, Any]:
    return write_one(task, _WORKER_SOURCE[0])


def _run(tasks: list[ShardTask], source: ImageSource, jobs: int) -> Iterator[dict[str, Any]]:
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield write_one(task, source)
        return
    with multiprocessing.get_context("fork").Pool(min(jobs, len(tasks)), _init_worker, (source,)) as pool:
        yield from pool.imap_unordered(_write_in_worker, tasks)


def _state(out: Path, *, dataset: str, origin: str, seed: int) -> dict[str, Any]:
    path = out / PROGRESS
    if not path.is_file():
        return {"dataset": dataset, "origin": origin, "seed": seed, "shards": {}}
    saved: dict[str, Any] = json.loads(path.read_text())
    if "origin" not in saved or saved.get("dataset") != dataset or (origin and saved["origin"] != origin):
        raise ValueError(
            f"{out} holds shards of {saved.get('origin') or 'another dataset'} "
            f"({saved.get('dataset')}): prepare into an empty folder"
        )
    if saved["seed"] != seed:
        raise ValueError(f"{out} was prepared with --seed {saved['seed']}: rerun with it, or use an empty folder")
    return saved


def write_shards(
    samples: list[Sample],
    source: ImageSource,
    out: Path,
    *,
    dataset: str,
    origin: str = "",
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    seed: int = 0,
    jobs: int = 1,
    on_bad: str = "fail",
    skipped: list[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Write `samples` as shards under `out` (resuming, keeping shards whose rows are unchanged); returns
    dataset.json's content. `origin` names the download (a rerun from another one is refused); `skipped`: the
    rows the layout reader left out, listed in skipped.csv."""
    out.mkdir(parents=True, exist_ok=True)
    state = _state(out, dataset=dataset, origin=origin, seed=seed)
    count = int(state.get("planned") or shard_count(samples, source, shard_bytes))
    state["planned"] = count
    planned = plan(samples, seed=seed, shards=count)
    names = [f"shard-{n:06d}.tar" for n in range(count)]
    tasks = [
        ShardTask(out, name, [samples[i] for i in rows], on_bad)
        for name, rows in zip(names, planned, strict=True)
        if not (
            (done := state["shards"].get(name))
            and done["rows"] == _fingerprint([samples[i] for i in rows])
            and (out / name).is_file()
        )
    ]
    bar = Progress("shards", count, enabled=progress)
    bar.update(count - len(tasks))
    state["rewritten"] = sum(1 for task in tasks if task.name in state["shards"])
    for record in _run(tasks, source, jobs):
        if "error" in record:
            raise ValueError(record["error"])
        state["shards"][record["name"]] = record
        (out / PROGRESS).write_text(json.dumps(state, indent=1))
        bar.update(1, f"({record['count']} samples)")
    return _finish(samples, planned, names, state, out, dataset, skipped or [])


def _finish(
    samples: list[Sample],
    planned: list[list[int]],
    names: list[str],
    state: dict[str, Any],
    out: Path,
    dataset: str,
    skipped: list[str],
) -> dict[str, Any]:
    records = [state["shards"][name] for name in names]
    bad = [line for record in records for line in record["bad"]]
    bad_keys = {line.split(":", 1)[0] for line in bad}
    shards = [{key: record[key] for key in ("name", "count", "bytes", "sha256")} for record in records]
    index = {
        "format": "webdataset",
        "dataset": dataset,
        "samples": sum(s["count"] for s in shards),
        "shuffle": {"seed": state["seed"], "order": "sha256(seed/key): shard, then place in it"},
        "skipped": len(skipped) + len(bad),
        "rewritten": state.get("rewritten", 0),
        "shards": shards,
    }
    (out / INDEX).write_text(json.dumps(index, indent=1))
    (out / "SHA256SUMS").write_text("".join(f"{s['sha256']}  {s['name']}\n" for s in shards))
    with (out / "locations.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "latitude", "longitude"])
        for name, rows in zip(names, planned, strict=True):
            for sample in (samples[i] for i in rows):
                if sample.key not in bad_keys:
                    writer.writerow([f"{name}/{sample.key}.jpg", repr(sample.latitude), repr(sample.longitude)])
    with (out / "skipped.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "why"])
        writer.writerows(line.split(": ", 1) for line in [*skipped, *bad])
    return index
