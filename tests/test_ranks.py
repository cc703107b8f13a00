"""Lesson 8's rank statistics (`gluon_lessons.ranks`) against scipy.stats, which computes them here.

Truths: `scipy.stats.rankdata`, `spearmanr` and `mannwhitneyu` (its defaults: two-sided, continuity
correction, exact or asymptotic chosen by size and ties) on random samples with and without ties, of
the sizes lesson 8 meets (4 to 50 end points) and around the exact/asymptotic boundary (8 values);
the exact distribution of U also against a count over every ordering of a small pair of samples.
Tolerances: 1e-12 relative, rounding in sums of at most a few thousand terms.
"""
import itertools
import math
import subprocess
import sys

import numpy as onp
import pytest
from scipy import stats

from gluon_lessons import ranks


def samples(seed, m, n, ties):
    rng = onp.random.default_rng(seed)
    if ties:  # few distinct values: many ties
        return rng.integers(0, 4, m).astype(float), rng.integers(0, 4, n).astype(float)
    return rng.normal(size=m), rng.normal(0.7, 1.3, size=n)


@pytest.mark.parametrize("ties", [False, True])
def test_ranks_are_scipys(ties):
    for seed in range(20):
        values = samples(seed, 1 + seed * 3, 1, ties)[0]
        onp.testing.assert_array_equal(ranks.ranks(values), stats.rankdata(values))


@pytest.mark.parametrize("size", [3, 4, 7, 20, 50])
@pytest.mark.parametrize("ties", [False, True])
def test_spearman_is_scipys(size, ties):
    for seed in range(10):
        x, y = samples(seed, size, size, ties)
        y = y + 0.5 * x  # some correlation, so that p-values range widely
        if onp.ptp(x) == 0 or onp.ptp(y) == 0:
            continue
        expected = stats.spearmanr(x, y)
        rho, p_value = ranks.spearman(x, y)
        assert rho == pytest.approx(expected[0], rel=1e-12, abs=1e-15)
        assert p_value == pytest.approx(expected[1], rel=1e-12, abs=1e-300)


def test_spearman_at_the_edges():
    assert ranks.spearman([1, 2, 3, 4], [2, 4, 6, 8]) == (pytest.approx(1.0), 0.0)  # as scipy: t infinite
    rho, p_value = ranks.spearman([1, 2], [2, 1])
    assert rho == pytest.approx(-1.0) and math.isnan(p_value)
    assert all(math.isnan(v) for v in ranks.spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="paired"):
        ranks.spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        ranks.spearman([1, 2, math.nan], [1, 2, 3])


@pytest.mark.parametrize("m, n", [(1, 1), (3, 4), (4, 4), (8, 8), (8, 20), (9, 9), (4, 50), (30, 45)])
@pytest.mark.parametrize("ties", [False, True])
def test_mann_whitney_is_scipys(m, n, ties):
    for seed in range(8):
        x, y = samples(seed, m, n, ties)
        expected = stats.mannwhitneyu(x, y)
        u, p_value = ranks.mann_whitney(x, y)
        assert u == expected.statistic
        assert p_value == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300)


def test_exact_distribution_counts_every_ordering():
    m, n = 3, 4
    counts = onp.zeros(m * n + 1)
    for x_places in itertools.combinations(range(m + n), m):  # which sorted positions hold x's values
        u = sum(sum(1 for j in range(m + n) if j not in x_places and j < i) for i in x_places)
        counts[u] += 1
    onp.testing.assert_array_equal(ranks._exact_counts(m, n), counts)
    assert counts.sum() == math.comb(m + n, m)


def test_lesson8s_statistics_leave_scipy_stats_unimported():
    code = ("import sys; from gluon_lessons import ranks; ranks.spearman([1, 3, 2, 4], [1, 2, 3, 5]);"
            "ranks.mann_whitney([1, 2, 5], [3, 4, 6, 7]); print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
