"""bench/engine's one-screen table."""

from __future__ import annotations

from typing import Any


def fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def report(results: dict[str, Any]) -> str:
    env = results["environment"]
    lines = [
        f"engine benchmark ({'quick' if results['quick'] else 'full'}): torch {env['torch']}, "
        f"{env['torch_threads']} threads, {env['cpu_count']} CPUs ({env['cpu_model']}), "
        f"load {env['load_before']} -> {env['load_after']}, other processes {env['other_processes_cores']} cores, "
        f"steal {env['steal_cores']} cores, {results['seconds']:.0f} s",
        "",
        f"{'measurement':<48}{'result':>16}  {'goal':<14}status",
        "-" * 86,
    ]

    def row(name: str, value: str, goal: str = "", status: str = "") -> None:
        lines.append(f"{name:<48}{value:>16}  {goal:<14}{status}")

    p = results["partition"]
    row(
        f"adaptive_partition, {p['points']:,} pts (t1 1000, t2 100)",
        f"{fmt_rate(p['adaptive_partition_points_per_s'])} pts/s",
        f">= {fmt_rate(p['goal_points_per_s'])} pts/s",
        "PASS" if p["pass"] else "FAIL",
    )
    row(f"  leaf_cell_ids alone ({p['points']:,} pts)", f"{fmt_rate(p['leaf_cell_ids_points_per_s'])} pts/s")
    row(
        f"  s2sphere CellId.from_lat_lng ({p['s2sphere_points']:,} pts)",
        f"{fmt_rate(p['s2sphere_points_per_s'])} pts/s",
    )
    for r in results["predictor"]:
        name = r["backbone"].replace("efficientnet-", "")
        row(f"{name} {r['image_size']}px bare embed+head, batch {r['batch']}", f"{r['bare_images_per_s']:.1f} img/s")
        row(
            f"{name} Predictor.predict (PIL {r['input_image'].split()[0]}, top 5)",
            f"{r['predict_images_per_s']:.1f} img/s",
        )
        row(
            f"{name} predictor overhead",
            f"{100 * r['overhead']:+.1f}%",
            f"<= {100 * r['goal_overhead']:.0f}%",
            "PASS" if r["pass"] else "FAIL",
        )
        s = r["stages_s_per_batch"]
        row(
            "  of which preprocess / postprocess (ms/batch)",
            f"{1e3 * s['preprocess']:.1f} / {1e3 * s['postprocess_warm']:.1f}",
        )
        row(
            "  preprocess: convert / fit / to_tensor (ms)",
            f"{1e3 * s['preprocess.load_image_convert']:.1f} / {1e3 * s['preprocess.fit_resize']:.1f} / "
            f"{1e3 * s['preprocess.to_tensor']:.1f}",
        )
        row(
            "  geoscore points / cold polygons extra (ms)",
            f"{1e3 * s['point_guesses_geoscore']:.1f} / {1e3 * s['polygons_cold_extra']:.1f}",
        )
    t = results["training"]
    row(
        f"fine-tune lite0 'last', batch {t['finetune_batch']}, from JPEG files",
        f"{t['finetune_jpeg_images_per_s']:.1f} img/s",
    )
    row(
        f"  steps/s; DataLoader ms/batch ({t['num_workers']} workers)",
        f"{t['finetune_jpeg_steps_per_s']:.2f} / {1e3 * t['finetune_load_s_per_batch']:.0f} ms",
    )
    row(
        f"fine-tune lite0 'last', batch {t['finetune_batch']}, cached tensors",
        f"{t['finetune_cached_images_per_s']:.1f} img/s",
    )
    row("  steps/s", f"{t['finetune_cached_steps_per_s']:.2f}")
    row(
        f"linear probe on embeddings, batch {t['probe_batch']}, {t['cells']} cells",
        f"{fmt_rate(t['probe_images_per_s'])} img/s",
    )
    row("  steps/s", f"{t['probe_steps_per_s']:.0f}")
    st = results["streaming"]
    row(
        f"fine-tune from {st['shards']} shards ({st['num_workers']} workers) / cached",
        f"{st['streamed_steps_per_s']:.2f} / {st['cached_steps_per_s']:.2f}",
    )
    row(
        "  streamed over compute-bound step rate",
        f"{100 * st['streamed_over_cached']:.0f}%",
        f">= {100 * st['goal']:.0f}%",
        "PASS" if st["pass"] else "FAIL",
    )
    return "\n".join(lines)
