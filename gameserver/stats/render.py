"""The benchmark's tables as one screen of plain text (benchmark_report, simulate_rounds, bench/stats.py)."""

from __future__ import annotations

from typing import Any


def render_text(*, tables: dict[str, Any]) -> str:
    """One screen of plain text over every table; the player breakdown and long rating lists are cut."""
    lines = [f"PlaNet Arena benchmark: {tables['rounds']:,} rounds", "",
             f"{'radius':<10}{'km':>6}{'human':>8}{'model':>8}{'H wins':>9}{'M wins':>9}{'ties':>9}"
             f"  {'human win rate (95% CI)':<26}{'sign p':>8}"]
    for row in tables["thresholds"]:
        lines.append(f"{row['name']:<10}{row['km']:>6g}{_percent(row['human_accuracy']):>8}"
                     f"{_percent(row['model_accuracy']):>8}{row['human_wins']:>9,}{row['model_wins']:>9,}"
                     f"{row['ties']:>9,}  {_rate_text(row):<26}{row['sign_test_p']:>8.3g}")
    duel, errors, admin, paired = (tables[key] for key in ("head_to_head", "errors", "admin_levels", "paired"))
    lines += ["", f"head to head: human {duel['human_wins']:,}  model {duel['model_wins']:,}  ties {duel['ties']:,}"
                  f"  human win rate {_rate_text(duel)}  sign p {duel['sign_test_p']:.3g}"]
    for side in ("human", "model"):
        lines.append(f"{side} median error {_number(errors[f'{side}_median_km'])} km "
                     f"({_number(errors[f'{side}_median_low'])}–{_number(errors[f'{side}_median_high'])}), "
                     f"mean points {_number(errors[f'{side}_mean_points'])}, same country "
                     f"{_percent(admin[f'{side}_same_country'])}, "
                     f"same continent {_percent(admin[f'{side}_same_continent'])}")
    lines += [f"paired ln(km+1) difference {_number(paired['mean_log_ratio'], 3)} "
              f"({_number(paired['low'], 3)}–{_number(paired['high'], 3)}), ratio {_number(paired['ratio'], 3)}",
              paired["power_note"], ""]
    for dimension, groups in tables["breakdowns"].items():
        if len(groups) > 8:
            lines.append(f"{dimension}: {len(groups)} groups (in the JSON tables)")
            continue
        lines.append(f"{dimension} (rounds, human/model wins, human/model median km):")
        lines += [f"  {group['group'] or '?':<20}{group['rounds']:>10,}"
                  f"{group['human_wins']:>10,}/{group['model_wins']:<10,}"
                  f"{_number(group['human_median_km'])}/{_number(group['model_median_km'])}" for group in groups]
    ratings = tables["ratings"]
    shown = ratings[:10] + [r for r in ratings[10:] if r["kind"] == "model"]
    lines += ["", f"ratings (Elo scale, 95% CI), {len(shown)} of {len(ratings)}:"]
    lines += [f"  {r['rating']:7.1f} ({r['low']:.0f}–{r['high']:.0f})  {r['kind']:<5} {r['name']} "
              f"({r['rounds']:,} rounds)" for r in shown]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _rate_text(row: dict[str, Any]) -> str:
    if row["human_win_rate"] is None:
        return "–"
    return f"{_percent(row['human_win_rate'])} ({_percent(row['wilson_low'])}–{_percent(row['wilson_high'])})"
