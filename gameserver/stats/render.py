"""The benchmark's tables as one screen of plain text (benchmark_report, simulate_rounds, bench/stats.py)."""

from __future__ import annotations

from typing import Any


def render_text(*, tables: dict[str, Any]) -> str:
    """One screen of plain text over every table; the long breakdowns and rating lists are cut."""
    design = tables["design"]
    tier = tables.get("tier", "open")
    sizes = tables.get("tiers", {})
    heading = f"{tier} tier" + (
        f" ({sizes['verified']['player_rounds']:,} verified of "
        f"{sizes['open']['player_rounds']:,} counted player-rounds; open rounds not "
        f"verified because: {sizes['open']['reasons'] or 'none'})"
        if sizes
        else ""
    )
    lines = [
        heading,
        f"PlaNet Arena benchmark: {tables['rounds']:,} rounds over {design['panoramas']:,} panoramas and "
        f"{design['players']:,} players ({_number(design['rounds_per_panorama'])} rounds per panorama, "
        f"busiest player {_percent(design['busiest_player_share'])} of rounds)",
        "",
        f"{'':<18}{'human':>7}{'model':>7}{'H wins':>8}{'M wins':>8}{'ties':>8}  "
        f"{'human win rate (95% CI)':<24}{'sign p':>9}{'clust p':>9}{'Holm p':>9}{'deff':>6}",
    ]
    duels = (
        [(f"{row['name']} {row['km']:g} km", row) for row in tables["thresholds"]]
        + [("closer guess", tables["head_to_head"])]
        + [(f"right {row['name']}", row) for row in tables["admin_outcomes"]]
    )
    for label, row in duels:
        if row.get("reported") is False:
            lines.append(
                f"{label:<18}{_percent(row.get('human_accuracy')):>7}{_percent(row.get('model_accuracy')):>7}"
                f"  not reported: the set prior is inside in {_percent(row.get('set_prior_accuracy'))} "
                "of rounds"
            )
            continue
        lines.append(
            f"{label:<18}{_percent(row.get('human_accuracy')):>7}{_percent(row.get('model_accuracy')):>7}"
            f"{row['human_wins']:>8,}{row['model_wins']:>8,}{row['ties']:>8,}  {_rate_text(row):<24}"
            f"{_p(row['sign_test_p']):>9}{_p(row['cluster_p']):>9}{_p(row.get('cluster_p_holm')):>9}"
            f"{_number(row['design_effect']):>6}"
        )
    lines += _estimand_lines(tables)
    lines += ["", "PlaNet's table: % within each radius (95% CI), median km (95% CI)"]
    for row in tables["planet_table"]:
        within = "  ".join(
            f"{_percent(a['rate'])} ({_percent(a['low'])}–{_percent(a['high'])})" for a in row["accuracy"]
        )
        interval = (
            row.get("median_note") or "–"
            if row["median_low"] is None
            else f"{_number(row['median_low'])}–{_number(row['median_high'])}"
        )
        lines.append(f"  {row['name'][:16]:<17}{row['rounds']:>9,}  {within}  {_number(row['median_km'])} ({interval})")
    views = tables.get("model_views", {})
    lines += [
        f"  {model} guessed on: " + ", ".join(f"{view or 'no recorded view'} ({n:,})" for view, n in seen.items())
        for model, seen in views.items()
    ]
    errors, paired = tables["errors"], tables["paired"]
    lines += [
        "",
        f"mean points: human {_number(errors['human_mean_points'])}, model {_number(errors['model_mean_points'])}",
        f"paired ln(km+1) difference {_number(paired['mean_log_ratio'], 3)} "
        f"({_number(paired['low'], 3)}–{_number(paired['high'], 3)}), ratio {_number(paired['ratio'], 3)}",
        tables["power"]["note"],
        "",
    ]
    lines += [f"exploratory: {tables['exploratory_note']}", ""] if "exploratory_note" in tables else []
    for dimension, groups in tables["breakdowns"].items():
        if len(groups) > 8:
            lines.append(f"{dimension}: {len(groups)} groups (in the JSON tables)")
            continue
        lines.append(f"{dimension} (rounds, human/model wins, human win rate (95% CI), human/model median km):")
        lines += [
            f"  {group['group'] or '?':<20}{group['rounds']:>10,}"
            f"{group['human_wins']:>10,}/{group['model_wins']:<10,}{_rate_text(group):<24}"
            f"{_number(group['human_median_km'])}/{_number(group['model_median_km'])}"
            for group in groups
        ]
    ratings, info = tables["ratings"], tables["ratings_info"]
    shown = ratings[:10] + [r for r in ratings[10:] if r["kind"] == "model"]
    lines += [
        "",
        f"ratings (Elo scale, {info['anchor']} fixed at {info['anchor_rating']:g}, prior sd "
        f"{info['prior_sd_elo']:g}; * provisional, under {info['provisional_below_rounds']} rounds), "
        f"{len(shown)} of {len(ratings)}:",
    ]
    lines += [
        f"  {r['rating']:7.1f} ({r['low']:.0f}–{r['high']:.0f})  {r['kind']:<5} {r['name']}"
        f"{'*' if r['provisional'] else ''} ({r['rounds']:,} rounds)"
        for r in shown
    ]
    return "\n".join(lines)


def _estimand_lines(tables: dict[str, Any]) -> list[str]:
    """The headline's hedges: player-weighted beside round-weighted, the timeouts' sensitivity, the paired
    accuracy differences and the multiple-testing family."""
    if "estimands" not in tables:
        return []
    estimands, sensitivity = tables["estimands"], tables["timeout_sensitivity"]
    weighted = estimands["player_weighted"]
    family = tables["headline_family"]
    return [
        "",
        f"closer guess, human win rate: round-weighted (headline) {_rate_text(tables['head_to_head'])}; "
        f"player-weighted over {weighted['players']} players {_percent(weighted['rate'])} "
        + (
            f"({_percent(weighted['low'])}–{_percent(weighted['high'])})"
            if weighted["low"] is not None
            else f"({weighted['verdict'] or 'no interval'})"
        ),
        f"timeouts ({sensitivity['timeouts']:,}) as losses {_rate_text(sensitivity['as_losses'])}; "
        f"left out {_rate_text(sensitivity['excluded'])}",
        "accuracy difference, human − model (95% CI): "
        + "  ".join(
            f"{row['km']:g} km {_signed(row['difference'])} "
            + (f"({_signed(row['low'])} to {_signed(row['high'])})" if row["low"] is not None else "")
            for row in tables["accuracy_differences"]
        ),
        f"Holm p: adjusted over the {family['size']} headline tests ({', '.join(family['tests'])})",
    ]


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.1f} pt"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _rate_text(row: dict[str, Any]) -> str:
    if row["human_win_rate"] is None:
        return "–"
    if row.get("verdict"):
        return f"{_percent(row['human_win_rate'])} ({row['verdict']})"
    return f"{_percent(row['human_win_rate'])} ({_percent(row['low'])}–{_percent(row['high'])})"
