"""The album verb of `python -m planet_engine`: album-train, PlaNet's album LSTM over the views of each place
of a multi-view manifest, on a base checkpoint's frozen features (album.py). `predict --album` answers with it."""

from __future__ import annotations

import argparse

from planet_engine.config import ALBUM_INPUTS, DEFAULT_CACHE_DIR, LOSSES, AlbumSettings


def cmd_album_train(args: argparse.Namespace) -> int:
    from planet_engine.album import album_train

    settings = AlbumSettings(
        input=args.input,
        hidden=args.hidden,
        dropout=args.dropout,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        loss=args.loss,
        tau_km=args.tau_km,
        shuffle_views=not args.keep_order,
        seed=args.seed,
    )
    result = album_train(
        base=args.base,
        manifest=args.manifest,
        out=args.out,
        settings=settings,
        cache_dir=args.cache_dir or None,
        device=args.device,
        quiet=args.quiet,
    )
    print(
        f"album checkpoint {result.checkpoint} (sha256 {result.sha256[:12]}) over base {args.base}: "
        f"{result.places} places, {result.views} views, input {settings.input}, final loss "
        f"{result.history[-1]['loss']:.4f} after {len(result.history)} epochs, in {result.seconds:.1f}s"
    )
    return 0


def add_album_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("album-train", help="PlaNet's album LSTM over the views of each place of a manifest")
    defaults = AlbumSettings()
    p.add_argument("--base", required=True, help="the PlaNet checkpoint whose frozen features the LSTM reads")
    p.add_argument("--manifest", required=True, help="multi-view manifest: rows sharing a place_id are one place")
    p.add_argument("--out", required=True, help="album checkpoint to write")
    p.add_argument(
        "--input",
        default=defaults.input,
        choices=ALBUM_INPUTS,
        help="per view: the backbone's embedding or the base head's log-probabilities",
    )
    p.add_argument("--hidden", type=int, default=defaults.hidden, help="LSTM state size")
    p.add_argument("--dropout", type=float, default=defaults.dropout, help="on the standardised inputs")
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="places per step")
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    p.add_argument(
        "--loss",
        default=defaults.loss,
        choices=LOSSES,
        help="haversine: PIGEON label smoothing by distance; ce: the place's cell",
    )
    p.add_argument("--tau-km", type=float, default=defaults.tau_km, help="temperature of haversine smoothing")
    p.add_argument("--keep-order", action="store_true", help="train on the manifest's view order, not random ones")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="embedding cache ('' for none)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(run=cmd_album_train)
