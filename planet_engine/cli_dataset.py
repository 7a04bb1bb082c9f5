"""The dataset verbs of `python -m planet_engine`: prepare (a published layout -> shards) and partition (PlaNet's
adaptive S2 cells), and the kNN baseline's gallery of a prepared training set."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _levels(text: str) -> list[tuple[int, int]]:
    try:
        pairs = [tuple(int(part) for part in item.split(":")) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--levels takes t1:t2 pairs like 5000:500,1000:50, not {text!r}") from None
    if any(len(pair) != 2 for pair in pairs):
        raise argparse.ArgumentTypeError(f"--levels takes t1:t2 pairs like 5000:500,1000:50, not {text!r}") from None
    return [(pair[0], pair[1]) for pair in pairs]


def cmd_partition(args: argparse.Namespace) -> int:
    from planet_engine.cells import CellSet, adaptive_partition
    from planet_engine.manifest import read_manifest

    started = time.perf_counter()
    manifest = read_manifest(args.manifest, check_files=False)
    specs = args.levels or [(args.t1, args.t2)]
    out = Path(args.out)
    print(f"{len(manifest)} photos from {args.manifest}")
    print(f"{'t1':>7}{'t2':>7}{'cells':>7}{'kept photos':>13}{'dropped':>9}{'levels':>9}  file")
    for t1, t2 in specs:
        partition = adaptive_partition(manifest.latitudes, manifest.longitudes, t1=t1, t2=t2, max_level=args.max_level)
        path = out / f"cells_t1-{t1}_t2-{t2}.csv" if args.levels else out
        CellSet.from_partition(partition).write_csv(path)
        kept = int((partition.assignment >= 0).sum())
        levels = f"{partition.levels.min()}-{partition.levels.max()}" if partition.num_cells else "-"
        print(f"{t1:>7}{t2:>7}{partition.num_cells:>7}{kept:>13}{len(manifest) - kept:>9}{levels:>9}  {path}")
        if partition.num_cells == 0:
            print(
                f"error: no cell holds t2={t2} photos of the {len(manifest)}: lower --t2 (PlaNet's t2 is for "
                "millions of photos)",
                file=sys.stderr,
            )
            return 2
    print(f"done in {time.perf_counter() - started:.2f}s")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from planet_engine.layouts import read_layout
    from planet_engine.prepare import write_shards

    started = time.perf_counter()
    read = read_layout(
        args.layout,
        root=args.root and Path(args.root),
        split=args.split,
        csv_path=args.csv and Path(args.csv),
        images=args.images and Path(args.images),
        on_missing=args.on_missing,
        swap_lat_lon=args.swap_lat_lon,
    )
    for warning in read.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    origin = str(Path(args.root or args.csv).resolve()) + (f" ({args.split})" if args.layout == "osv5m" else "")
    print(
        f"{len(read.samples)} samples checked ({args.layout}), {len(read.skipped)} rows without their image "
        f"skipped; writing shards of ~{args.shard_size_mb} MB to {args.out} with {args.jobs} job(s)",
        file=sys.stderr,
    )
    out = Path(args.out)
    index = write_shards(
        read.samples,
        read.source,
        out,
        dataset=args.layout,
        origin=origin,
        shard_bytes=int(args.shard_size_mb * 1_000_000),
        seed=args.seed,
        jobs=args.jobs,
        on_bad=args.on_missing,
        skipped=read.skipped,
        progress=not args.quiet,
    )
    size_mb = sum(shard["bytes"] for shard in index["shards"]) / 1e6
    print(
        f"{index['samples']} samples in {len(index['shards'])} shards ({size_mb:.1f} MB, {index['rewritten']} "
        f"rewritten) at {args.out}: dataset.json, SHA256SUMS, locations.csv (for partition) in "
        f"{time.perf_counter() - started:.1f}s; {index['skipped']} rows skipped (missing or unreadable images), "
        f"listed in {out / 'skipped.csv'}"
    )
    return 0


def knn_gallery(checkpoint: str, train_manifest: str | None, limit: int, seed: int) -> str:
    """The kNN baseline's reference photos: --train-manifest, else the checkpoint's training set; a prepared
    folder gives a seeded sample of whole shards of at least `limit` photos as a manifest (checked before any
    photo is embedded)."""
    from planet_engine.checkpoint import read_payload
    from planet_engine.manifest import read_manifest
    from planet_engine.shards import evaluation_manifest
    from planet_engine.stream_train import is_prepared

    path = train_manifest or read_payload(checkpoint)[0]["config"]["manifest"]
    if not Path(path).exists():
        raise ValueError(
            f"the kNN baseline's reference photos {path} (the checkpoint's training set) are not here: "
            "run evaluate where training ran, or pass --train-manifest, or --baselines prior,random-cell"
        )
    if is_prepared(path):
        return str(evaluation_manifest(Path(path), limit=limit, seed=seed))
    read_manifest(path)
    return str(path)


def add_dataset_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("prepare", help="a published dataset's layout -> WebDataset shards (resumable)")
    p.add_argument("layout", choices=["osv5m", "mp16", "im2gps3k", "yfcc4k", "folder"])
    p.add_argument("--root", help="osv5m: the folder of train.csv/test.csv and images/; folder: the photos")
    p.add_argument("--split", default="train", help="osv5m: train or test")
    p.add_argument("--csv", help="mp16/im2gps3k/yfcc4k: GeoEstimation's *_places365.csv (IMG_ID, LAT, LON)")
    p.add_argument("--images", help="mp16/im2gps3k/yfcc4k: the images (a folder, zip, tar or its parts, msgpack)")
    p.add_argument("--out", required=True, help="folder for the shards (rerun with the same to resume)")
    p.add_argument("--shard-size-mb", type=float, default=1000.0, help="about this many MB per shard")
    p.add_argument(
        "--on-missing",
        default="fail",
        choices=["fail", "skip"],
        help="a row whose image is missing or unreadable: stop, or leave it out (listed in skipped.csv)",
    )
    p.add_argument("--swap-lat-lon", action="store_true", help="the CSV's LAT and LON headers are swapped")
    p.add_argument("--jobs", type=int, default=1, help="processes writing shards (each decodes its images)")
    p.add_argument("--seed", type=int, default=0, help="the shuffle of rows across shards")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_prepare)

    p = verbs.add_parser("partition", help="PlaNet's adaptive S2 partition of a manifest's photos")
    p.add_argument("--manifest", required=True, help="manifest CSV (file, latitude, longitude, ...)")
    p.add_argument("--t1", type=int, default=50, help="split cells holding more than t1 photos")
    p.add_argument("--t2", type=int, default=5, help="drop cells holding fewer than t2 photos")
    p.add_argument("--max-level", type=int, default=20, help="deepest S2 level a split may reach")
    p.add_argument("--levels", type=_levels, help="several partitions at once, t1:t2 pairs (--out is a folder)")
    p.add_argument("--out", required=True, help="cells CSV to write (a folder with --levels)")
    p.set_defaults(run=cmd_partition)
