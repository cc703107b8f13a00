"""Lesson 9: the largest Hessian eigenvalue from products alone, and an interval over seeds."""

import numpy as onp
from scipy import special  # stdtrit: Student's t quantile (scipy.stats takes 0.4 s more to import)

from . import _compare, exercise


@exercise(
    9,
    1,
    "λ_max by power iteration",
    """Write `largest_eigenvalue(hvp, dim)`: the largest
          eigenvalue of a symmetric positive semi-definite Hessian H that you may only touch through
          `hvp(v)` = H v (v a NumPy vector of length dim).""",
)
def largest_eigenvalue(answer):
    function = _compare.callable_answer(answer, "largest_eigenvalue")
    rng = onp.random.default_rng(12)
    for dim, gap in ((5, 0.5), (30, 0.2), (60, 0.1)):
        basis, _ = onp.linalg.qr(rng.normal(size=(dim, dim)))
        values = onp.sort(rng.uniform(0, 1 - gap, size=dim))
        values[-1] = 1.0  # a clear largest eigenvalue, scaled below
        matrix = (basis * values * 7.5) @ basis.T
        calls = [0]

        def hvp(vector, matrix=matrix):
            calls[0] += 1
            return matrix @ onp.asarray(vector, onp.float64)

        truth = float(onp.linalg.eigvalsh(matrix)[-1])
        given = float(_compare.array(function(hvp, dim)))
        if abs(given - truth) > 1e-3 * truth:
            if abs(given - truth * truth) < 1e-3 * truth * truth:
                return (
                    False,
                    "that is λ²: use the Rayleigh quotient vᵀHv / vᵀv, or |Hv| with v of length 1",
                )
            return (
                False,
                f"for a {dim}×{dim} Hessian you gave {given:.5g}; repeat v ← Hv/|Hv| until it settles",
            )
    return (
        True,
        f"within 1e-3 (relative) of numpy's eigvalsh on three Hessians, using {calls[0]} products on the last",
    )


@exercise(
    9,
    2,
    "a 95% interval over seeds",
    """Write `paired_interval(small, large)`: for one
          measurement per seed of a small- and a large-batch run (same seeds), return
          (mean difference small − large, low, high) of its 95% confidence interval.""",
)
def paired_interval(answer):
    function = _compare.callable_answer(answer, "paired_interval")
    rng = onp.random.default_rng(9)
    for num_seeds in (3, 5, 12):
        large = rng.normal(0.10, 0.02, size=num_seeds)
        small = large + rng.normal(0.01, 0.005, size=num_seeds)
        differences = small - large
        mean = differences.mean()
        half = special.stdtrit(num_seeds - 1, 0.975) * differences.std(ddof=1) / onp.sqrt(num_seeds)
        truth = onp.array([mean, mean - half, mean + half])
        given = function(small.copy(), large.copy())
        if not isinstance(given, (tuple, list)) or len(given) != 3:
            return False, "return three numbers: (mean difference, low, high)"
        given = _compare.array(given)
        if _compare.close(given, truth, rtol=1e-6, atol=1e-12):
            continue
        width = (given[2] - given[1]) / (2 * half)
        if _compare.near(
            width, special.ndtri(0.975) / special.stdtrit(num_seeds - 1, 0.975), rtol=1e-3
        ):
            return (
                False,
                f"with {num_seeds} seeds use Student's t with n − 1 degrees of freedom, not 1.96",
            )
        unpaired = onp.sqrt(small.var(ddof=1) / num_seeds + large.var(ddof=1) / num_seeds)
        if _compare.near(
            (given[2] - given[1]) / 2, special.stdtrit(num_seeds - 1, 0.975) * unpaired, rtol=1e-2
        ):
            return False, "the seeds pair the runs: take the interval of the per-seed differences"
        return (
            False,
            f"with {num_seeds} seeds your interval differs from the t interval by {_compare.worst(given, truth):.3g}",
        )
    return True, "equal to the paired Student-t interval for 3, 5 and 12 seeds within 1e-6"
