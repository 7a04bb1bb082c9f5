"""Intervals and tests the benchmark's statistics share: Wilson's score interval (also at an effective sample
size), the exact sign test, Student's t distribution (no SciPy in the house: the regularised incomplete beta
function by its continued fraction), Holm's step-down adjustment and percentile intervals. Pure Python and
NumPy, no Django."""

from __future__ import annotations

import functools
import math

import numpy as np

Z_95 = 1.959963984540054


def wilson_interval(*, successes: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial rate; (0, 1) when there are no trials, as nothing is known.

    `n` may be an effective sample size (rounds over the design effect) and `successes` the rate times it,
    as Korn & Graubard (1998) do for rates from clustered samples."""
    if n <= 0:
        return 0.0, 1.0
    n = float(n)
    rate = float(successes) / n
    shrink = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / shrink
    half = z * math.sqrt(max(rate * (1 - rate), 0.0) / n + z * z / (4 * n * n)) / shrink
    # At a rate of 0 (or 1) the bound is exactly 0 (or 1); the arithmetic would leave a rounding residue.
    return (0.0 if rate <= 0 else max(0.0, centre - half)), (1.0 if rate >= 1 else min(1.0, centre + half))


def sign_test_p(*, wins: int, losses: int) -> float:
    """Exact two-sided binomial test of wins vs losses at p = 0.5 (ties already dropped); 1.0 with none."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    # log P(X = k) by lgamma, then down the tail by P(X = i - 1) / P(X = i) = i / (n - i + 1): all in log
    # space, so n = 10^6 neither overflows nor underflows before the sum.
    log_peak = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    steps = np.arange(k, 0, -1, dtype=np.float64)
    log_terms = np.concatenate(([0.0], np.cumsum(np.log(steps) - np.log(n - steps + 1))))  # (k + 1,)
    tail = math.exp(log_peak) * float(np.exp(log_terms).sum())
    return min(1.0, 2 * tail)


def t_two_sided_p(*, t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2)."""
    if not math.isfinite(t):
        return 0.0
    return _incomplete_beta(x=df / (df + t * t), a=df / 2, b=0.5)


@functools.lru_cache(maxsize=4096)
def t_quantile(*, probability: float, df: float) -> float:
    """The t with P(T <= t) = probability (> 0.5), for any real df > 0: Newton's method on t_two_sided_p from
    the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5), kept inside a bracket that halves whenever a
    step would leave it; closed forms at 1 and 2 degrees of freedom."""
    if df == 1:
        return math.tan(math.pi * (probability - 0.5))
    if df == 2:
        return (2 * probability - 1) / math.sqrt(2 * probability * (1 - probability))
    target = 1 - probability

    def upper_tail(t: float) -> float:
        return t_two_sided_p(t=t, df=df) / 2

    z = _normal_quantile(probability)
    t = (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )
    low, high = 0.0, max(2 * t, 1.0)
    while upper_tail(high) > target:
        low, high = high, 2 * high
    t = min(max(t, low), high)
    log_scale = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    for _ in range(200):
        tail = upper_tail(t)
        low, high = (t, high) if tail > target else (low, t)
        density = math.exp(log_scale - (df + 1) / 2 * math.log1p(t * t / df))
        candidate = t + (tail - target) / density
        if not low < candidate < high:
            candidate = (low + high) / 2
        if abs(candidate - t) < 1e-12 * max(1.0, abs(t)):
            return candidate
        t = candidate
    return t


def _normal_quantile(probability: float) -> float:
    """Standard normal quantile by Newton's method on math.erfc."""
    z = 0.0
    for _ in range(50):
        step = (0.5 * math.erfc(-z / math.sqrt(2)) - probability) / math.exp(-z * z / 2) * math.sqrt(2 * math.pi)
        z -= step
        if abs(step) < 1e-14:
            break
    return z


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's (1979) step-down adjustment over the defined p-values of one family; None stays None."""
    defined = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(defined):
        running = max(running, min(1.0, (len(defined) - rank) * p))
        adjusted[i] = running
    return adjusted


def percentile_interval(*, samples: np.ndarray, level: float = 0.95) -> tuple[float | None, float | None]:
    """Outer order statistics at the two tails of the defined (non-NaN) samples: no interpolation, so
    infinite samples give inf, not NaN; (None, None) when no sample is defined."""
    ordered = np.sort(samples[~np.isnan(samples)])
    if not ordered.size:
        return None, None
    last = ordered.size - 1
    return (float(ordered[math.floor((1 - level) / 2 * last)]), float(ordered[math.ceil((1 + level) / 2 * last)]))


def median_of_sorted(ordered: np.ndarray) -> float:
    return float((ordered[(ordered.size - 1) // 2] + ordered[ordered.size // 2]) / 2)


def _incomplete_beta(*, x: float, a: float, b: float) -> float:
    """Regularised incomplete beta I_x(a, b) by Lentz's continued fraction (Press et al., Numerical Recipes
    §6.4), evaluated on the side of x where it converges fast."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(x=x, a=a, b=b) / a
    return 1 - math.exp(log_front) * _beta_fraction(x=1 - x, a=b, b=a) / b


def _beta_fraction(*, x: float, a: float, b: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 1000):
        for numerator in (
            m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return fraction
