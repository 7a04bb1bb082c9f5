"""Round tables for the stats tests, built the way benchmark_tables reads them."""

from __future__ import annotations

import numpy as np

from gameserver.stats.benchmark import RoundTable


def round_table(
    *,
    human_km: list[float],
    model_km: list[float],
    players: list[str] | None = None,
    models: list[str] | None = None,
    panoramas: list[str] | None = None,
    countries: list[str] | None = None,
) -> RoundTable:
    """Rounds as benchmark_tables reads them; by default every round has a panorama of its own."""
    n = len(human_km)
    human, model = np.array(human_km, dtype=np.float64), np.array(model_km, dtype=np.float64)

    def text(values: list[str] | None, default: str) -> np.ndarray:
        return np.array(values if values is not None else [default] * n, dtype=object)

    return RoundTable(
        human_km=human,
        model_km=model,
        human_points=np.where(np.isinf(human), 0.0, 5000 * np.exp(-np.minimum(human, 1e6) / 1492.7)),
        model_points=5000 * np.exp(-model / 1492.7),
        player=text(players, "ann"),
        panorama=text(panoramas or [f"p{i}" for i in range(n)], ""),
        panorama_set=text(None, "yfcc-game"),
        model_version=text(models, "lite2"),
        mode=text(None, "classic"),
        continent=text(None, "Europe"),
        country=text(countries, "FR"),
        human_same_country=human < 300,
        model_same_country=model < 300,
        human_same_continent=human < 2000,
        model_same_continent=model < 2000,
    )
