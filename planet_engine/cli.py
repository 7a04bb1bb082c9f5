"""`python -m planet_engine <verb>`: prepare, partition, train, evaluate, knn-build, album-train, predict,
countries-geojson, map-labels, map-layers. Each ends with a short summary."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from planet_engine.cli_album import add_album_verbs
from planet_engine.cli_dataset import add_dataset_verbs, knn_gallery
from planet_engine.cli_map import add_map_verbs
from planet_engine.config import (
    DEFAULT_CACHE_DIR,
    KNN_K,
    KNN_TEMPERATURE,
    LOSSES,
    TRAINABLE,
    VIEWS,
    TrainConfig,
)
from planet_engine.manifest import ManifestError

# The train verb's defaults are TrainConfig's, so the command line and the Python API cannot disagree.
_TRAIN_DEFAULTS: dict[str, object] = {
    field.name: field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
    for field in dataclasses.fields(TrainConfig)
    if field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
}


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The train verb's options as the TrainConfig they stand for."""
    return TrainConfig(
        manifest=args.manifest,
        cells=args.cells,
        out=args.out,
        backbone=args.backbone,
        pretrained=not args.random_init,
        trainable=args.trainable,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        loss=args.loss,
        tau_km=args.tau_km,
        image_size=args.image_size,
        seed=args.seed,
        deterministic=not args.nondeterministic,
        device=args.device,
        amp=not args.no_amp,
        num_workers=args.workers,
        cache_dir=args.cache_dir or None,
        resume=args.resume,
        coarse_cells=list(args.coarse_cells),
        calibration=args.calibration,
        tta_views=list(args.tta_views),
        shuffle_buffer=args.shuffle_buffer,
        checkpoint_every=args.checkpoint_every,
        rescale=args.rescale,
        verify_shards=args.verify_shards,
    )


def cmd_train(args: argparse.Namespace) -> int:
    from planet_engine.stream_train import is_prepared, train_from_shards
    from planet_engine.train import train

    config = train_config(args)
    result = train_from_shards(config) if is_prepared(config.manifest) else train(config)
    print(f"\ncheckpoint {result.checkpoint} (sha256 {result.checkpoint_sha256[:12]})")
    print(
        f"{result.num_classes} classes, {result.train_photos} photos trained on, "
        f"{result.dropped_photos} left out in dropped cells"
    )
    if result.history:
        last = result.history[-1]
        print(
            f"final loss {last['loss']:.4f}, train accuracy {last['train_accuracy']:.3f}, "
            f"{len(result.history)} epochs in {result.seconds:.1f}s"
        )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from planet_engine.evaluate import evaluate, evaluate_knn, format_table, write_report
    from planet_engine.knn import is_knn_checkpoint
    from planet_engine.shards import evaluation_manifest, read_index
    from planet_engine.stream_train import is_prepared

    baselines = [] if args.no_baselines else [b for b in args.baselines.split(",") if b]
    manifest, anchors = args.manifest, args.anchors
    if is_prepared(args.manifest):  # a standard test set prepared from its published layout
        anchors = anchors or str(read_index(Path(args.manifest))["dataset"])
        manifest = str(evaluation_manifest(Path(args.manifest)))
    train_manifest = args.train_manifest
    if "knn" in baselines and not is_knn_checkpoint(args.checkpoint):
        train_manifest = knn_gallery(args.checkpoint, train_manifest, args.knn_gallery, args.seed)
    if is_knn_checkpoint(args.checkpoint):  # its own table: the baselines belong to a PlaNet checkpoint's cells
        report = evaluate_knn(checkpoint=args.checkpoint, manifest_path=manifest, device=args.device)
    else:
        report = evaluate(
            checkpoint=args.checkpoint,
            manifest_path=manifest,
            baselines=baselines,
            train_manifest=train_manifest,
            knn_k=args.knn_k,
            seed=args.seed,
            cache_dir=args.cache_dir or None,
            device=args.device,
        )
    if args.report:
        write_report(report, args.report)
    print(format_table(report, anchors=anchors or "im2gps"))
    if args.report:
        print(f"report written to {args.report}")
    return 0


def cmd_knn_build(args: argparse.Namespace) -> int:
    from planet_engine.knn import knn_build

    result = knn_build(
        manifest=args.manifest,
        out=args.out,
        backbone=args.backbone,
        image_size=args.image_size,
        k=args.k,
        temperature=args.temperature,
        t1=args.t1,
        t2=args.t2,
        cache_dir=args.cache_dir or None,
        device=args.device,
        quiet=True,
    )
    print(
        f"kNN checkpoint {result.checkpoint} (sha256 {result.sha256[:12]}): {result.photos} gallery photos, "
        f"{result.cells} cells, k={args.k}, temperature {args.temperature:g}, {args.backbone}, "
        f"in {result.seconds:.1f}s"
    )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from planet_engine.album_predict import AlbumPredictor
    from planet_engine.knn import KnnPredictor, is_knn_checkpoint
    from planet_engine.predict import Predictor

    if args.album:
        album = AlbumPredictor(args.album, base=args.checkpoint, device=args.device, point_mode=args.point)
        groups = [list(args.images)] if args.multi_view else [[image] for image in args.images]
        for group, prediction in zip(
            groups, album.predict_groups(groups, top_k=args.top_k, distribution=args.distribution), strict=True
        ):
            print(json.dumps({"image": ",".join(group), **prediction.as_dict()}))
        return 0
    if is_knn_checkpoint(args.checkpoint):
        if args.multi_view or args.distribution:
            raise ValueError("a kNN checkpoint predicts single images, with no distribution over cells")
        knn = KnnPredictor(args.checkpoint, device=args.device)
        for image, prediction in zip(args.images, knn.predict(args.images, top_k=args.top_k), strict=True):
            print(json.dumps({"image": image, **prediction.as_dict()}))
        return 0
    predictor = Predictor(args.checkpoint, device=args.device, point_mode=args.point)
    if args.multi_view:
        predictions = [predictor.predict_views(args.images, top_k=args.top_k, distribution=args.distribution)]
        names = [",".join(args.images)]
    else:
        predictions = predictor.predict(args.images, top_k=args.top_k, distribution=args.distribution)
        names = list(args.images)
    for name, prediction in zip(names, predictions, strict=True):
        print(json.dumps({"image": name, **prediction.as_dict()}))
    for name, prediction in zip(names, predictions, strict=True):
        top = prediction.top_cells[0]
        print(
            f"{name}: ({prediction.latitude:.4f}, {prediction.longitude:.4f}), top cell {top.token} "
            f"p={top.probability:.3f}",
            file=sys.stderr,
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m planet_engine", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)

    add_dataset_verbs(verbs)

    p = verbs.add_parser("train", help="train the cell classifier")
    default = _TRAIN_DEFAULTS
    p.add_argument("--manifest", required=True, help="a manifest CSV, or a folder written by prepare (streamed)")
    p.add_argument("--cells", required=True, help="cells CSV written by partition")
    p.add_argument("--out", required=True, help="checkpoint to write (and resume from)")
    p.add_argument("--backbone", default=default["backbone"], choices=["efficientnet-lite0", "efficientnet-lite2"])
    p.add_argument("--random-init", action="store_true", help="no ImageNet weights (PlaNet from scratch)")
    p.add_argument(
        "--trainable",
        default=default["trainable"],
        choices=TRAINABLE,
        help="head: linear probe on cached embeddings; last/all: fine-tune",
    )
    p.add_argument("--epochs", type=int, default=default["epochs"])
    p.add_argument("--batch-size", type=int, default=default["batch_size"])
    p.add_argument("--lr", type=float, default=default["lr"])
    p.add_argument("--weight-decay", type=float, default=default["weight_decay"])
    p.add_argument("--dropout", type=float, default=default["dropout"])
    p.add_argument(
        "--loss", default=default["loss"], choices=LOSSES, help="haversine: PIGEON label smoothing by distance"
    )
    p.add_argument("--tau-km", type=float, default=default["tau_km"], help="temperature of haversine smoothing")
    p.add_argument("--image-size", type=int, default=default["image_size"], help="default: the backbone's native size")
    p.add_argument("--seed", type=int, default=default["seed"])
    p.add_argument("--nondeterministic", action="store_true", help="allow faster non-deterministic kernels")
    p.add_argument("--device", default=default["device"])
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--workers", type=int, default=default["num_workers"], help="data-loading worker processes")
    p.add_argument("--cache-dir", default=default["cache_dir"], help="embedding cache ('' for none)")
    p.add_argument("--coarse-cells", nargs="*", default=[], help="cells CSVs of coarser partitions (hierarchy)")
    p.add_argument(
        "--calibration",
        type=float,
        default=default["calibration"],
        help="softmax temperature of the cell distribution, applied inside the network",
    )
    p.add_argument(
        "--tta-views",
        nargs="+",
        default=default["tta_views"],
        choices=VIEWS,
        help="views whose predictions are averaged at test time",
    )
    p.add_argument(
        "--shuffle-buffer",
        type=int,
        default=default["shuffle_buffer"],
        help="prepared shards: samples mixed in memory per data-loader worker (0: from free memory)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=default["checkpoint_every"],
        help="prepared shards: also checkpoint every N steps (resumable mid-epoch)",
    )
    p.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    p.add_argument("--rescale", action="store_true", help="--resume on other ranks/workers: rescale the schedule")
    p.add_argument("--verify-shards", action="store_true", help="hash every shard first (each rank its share)")
    p.set_defaults(run=cmd_train)

    p = verbs.add_parser("evaluate", help="PlaNet's table for the model and baselines on a manifest")
    p.add_argument("--checkpoint", required=True)
    p.add_argument(
        "--manifest",
        required=True,
        help="the photos to evaluate on (never trained on): a manifest CSV or a folder written by prepare",
    )
    p.add_argument(
        "--anchors",
        choices=["im2gps", "im2gps3k", "yfcc4k"],
        help="whose published numbers to print beside (default: the prepared set's, else Im2GPS)",
    )
    p.add_argument("--train-manifest", help="reference photos of the kNN baseline (default: the checkpoint's)")
    p.add_argument("--baselines", default="prior,random-cell,knn", help="comma list of prior,random-cell,knn")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--knn-k", type=int, nargs="+", default=[1, 10])
    p.add_argument(
        "--knn-gallery",
        type=int,
        default=50_000,
        help="kNN baseline on a prepared training folder: photos sampled from it (whole shards)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", help="write the JSON report here")
    p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR)
    p.add_argument("--device", default="auto", help="auto: the GPU when there is one")
    p.set_defaults(run=cmd_evaluate)

    p = verbs.add_parser("predict", help="guess where images were taken (JSON lines on stdout)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("images", nargs="+")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--point", default="geoscore", choices=["cell", "geoscore"])
    p.add_argument("--distribution", action="store_true", help="include the probability of every cell")
    p.add_argument("--multi-view", action="store_true", help="the images are views of one place: average")
    p.add_argument("--album", help="an album checkpoint over --checkpoint: combine the views with its LSTM")
    p.add_argument("--device", default="auto")
    p.set_defaults(run=cmd_predict)

    add_album_verbs(verbs)

    p = verbs.add_parser("knn-build", help="the kNN retrieval model (im2gps): a gallery of a manifest's photos")
    p.add_argument("--manifest", required=True, help="the gallery's photos (file, latitude, longitude)")
    p.add_argument("--out", required=True, help="kNN checkpoint to write")
    p.add_argument("--backbone", default="efficientnet-lite2", choices=["efficientnet-lite0", "efficientnet-lite2"])
    p.add_argument("--image-size", type=int, default=None, help="default: the backbone's native size")
    p.add_argument("--k", type=int, default=KNN_K, help="neighbours a guess is made from")
    p.add_argument(
        "--temperature", type=float, default=KNN_TEMPERATURE, help="softmax temperature of the neighbours' cosines"
    )
    p.add_argument("--t1", type=int, default=25, help="the reveal's cells: split cells holding more than t1 photos")
    p.add_argument("--t2", type=int, default=1, help="drop cells holding fewer than t2 photos")
    p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="embedding cache ('' for none)")
    p.add_argument("--device", default="auto")
    p.set_defaults(run=cmd_knn_build)

    add_map_verbs(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ManifestError, ValueError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
