"""Lesson 8's two rank statistics, as `scipy.stats` computes them, from `scipy.special` alone.

Importing `scipy.stats` loads most of SciPy (its optimizers, integrators, interpolation, sparse
matrices: 0.35-0.38 s here, a tenth of lesson 8 with --quick) for two functions of a few lines:

- `spearman(x, y)`: Spearman's rank correlation and its two-sided p-value, `scipy.stats.spearmanr`'s
  (the Pearson correlation of the ranks; the p-value from Student's t with n − 2 degrees of freedom).
- `mann_whitney(x, y)`: the Mann-Whitney U of `x` and its two-sided p-value, what
  `scipy.stats.mannwhitneyu(x, y)` returns with its defaults: the exact null distribution when one
  sample holds at most 8 values and no value repeats, else the normal approximation with the tie
  correction and the continuity correction.

tests/test_ranks.py checks both against scipy.stats.
"""
import math

import numpy as onp


def ranks(values):
    """The ranks of `values` from 1, tied values sharing the mean of their ranks
    (`scipy.stats.rankdata`)."""
    values = onp.asarray(values, dtype=float).ravel()
    order = onp.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = onp.flatnonzero(onp.r_[True, ordered[1:] != ordered[:-1]])  # first of each run of ties
    ends = onp.r_[starts[1:], len(values)]
    ranked = onp.empty(len(values))
    ranked[order] = onp.repeat((starts + 1 + ends) / 2.0, ends - starts)  # mean of ranks start+1..end
    return ranked


def _two_samples(x, y, least):
    x, y = (onp.asarray(sample, dtype=float).ravel() for sample in (x, y))
    if min(len(x), len(y)) < least:
        raise ValueError(f"each sample needs at least {least} values, got {len(x)} and {len(y)}")
    if not (onp.isfinite(x).all() and onp.isfinite(y).all()):
        raise ValueError("the samples must be finite numbers")
    return x, y


def spearman(x, y):
    """(ρ, two-sided p-value) of the paired samples `x` and `y`, as `scipy.stats.spearmanr(x, y)`."""
    from scipy.special import stdtr

    x, y = _two_samples(x, y, 2)
    if len(x) != len(y):
        raise ValueError(f"x and y must be paired, got {len(x)} and {len(y)} values")
    rx, ry = ranks(x), ranks(y)
    if rx.min() == rx.max() or ry.min() == ry.max():  # a constant sample: no correlation to speak of
        return math.nan, math.nan
    rho = float(onp.corrcoef(rx, ry)[0, 1])
    freedom = len(x) - 2
    if freedom == 0:  # two pairs: ρ is ±1 and says nothing
        return rho, math.nan
    t = math.inf if abs(rho) >= 1 else abs(rho) * math.sqrt(freedom / ((rho + 1.0) * (1.0 - rho)))
    return rho, float(2 * stdtr(freedom, -t))


def _exact_counts(m, n):
    """For samples of m and n values without ties, how many of the C(m + n, m) orderings give
    U = 0, 1, ..., m·n: f(m, n, k) = f(m − 1, n, k − n) + f(m, n − 1, k), f(·, ·, 0) = 1."""
    rows = [onp.ones(1)] * (n + 1)  # i = 0: a single ordering, U = 0, whatever n
    for i in range(1, m + 1):
        row = [onp.ones(1)]  # j = 0
        for j in range(1, n + 1):
            counts = onp.zeros(i * j + 1)
            counts[j:j + len(rows[j])] += rows[j]  # the last value is one of x's: U rises by j
            counts[:len(row[j - 1])] += row[j - 1]  # the last value is one of y's
            row.append(counts)
        rows = row
    return rows[n]


def mann_whitney(x, y):
    """(U of `x`, two-sided p-value), as `scipy.stats.mannwhitneyu(x, y)` with its defaults."""
    from scipy.special import binom, ndtr

    x, y = _two_samples(x, y, 1)
    m, n = len(x), len(y)
    ranked = ranks(onp.concatenate([x, y]))
    u_x = float(ranked[:m].sum() - m * (m + 1) / 2)
    u = max(u_x, m * n - u_x)
    _, tied = onp.unique(ranked, return_counts=True)
    if (m <= 8 or n <= 8) and (tied == 1).all():  # exact: P(U ≥ u) = P(U ≤ m·n − u), symmetric
        cumulative = onp.cumsum(_exact_counts(m, n) / binom(m + n, m))
        p = 2 * cumulative[int(m * n - u)]
    else:
        total = m + n
        spread = math.sqrt(m * n / 12 * ((total + 1) - float((tied**3 - tied).sum()) / (total * (total - 1))))
        with onp.errstate(divide="ignore", invalid="ignore"):
            z = onp.float64(u - m * n / 2 - 0.5) / spread  # continuity-corrected
        p = 2 * ndtr(-z)
    return u_x, float(min(max(p, 0.0), 1.0))
