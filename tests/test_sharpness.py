"""Sharpness measures and the digits data against independent truths.

Truths: the exact Hessian-vector product of the digits MLP written out in NumPy (Pearlmutter's
R-operator, no finite differences) and the full Hessian built from it; on a quadratic f(x) = c + ½(x − x*)ᵀA(x − x*) the increase over the box is ½yᵀAy, maximal at a
corner, so small boxes can be searched by brute force over all 2^d corners (and diagonal A has a closed
form); linear regression under L2 loss is such a quadratic with A = X̃ᵀX̃/n (`landscape.hessian`); power
iteration on finite-difference Hessian-vector products against `numpy.linalg.eigh`; cross-entropy and
accuracy against NumPy.
Everything runs in float64, so tolerances are set by rounding (about 1e-16 relative per operation) and,
for power iteration, by its stopping rule; each tolerance says which.
"""
import itertools

import numpy as onp
import pytest
from mxnet import np as mx_np

from gluon_lessons import data as house_data
from gluon_lessons import digits, hessian, landscape, model, sharpness


# The digits MLP in NumPy: exact gradients and Hessian-vector products ---------------------------

def swish_mlp(X, labels, parts, directions=None, activation="swish"):
    """Mean softmax cross-entropy of X → Dense(h) → activation → Dense(10) at parameters `parts`
    = [W1 (h, 64), b1 (h,), W2 (10, h), b2 (10,)] (`hessian.BlockLoss` order), in float64: (loss,
    gradient) and, given `directions` shaped like `parts`, the exact product H·v by the R-operator
    (Pearlmutter 1994): the derivative of the gradient along v, carried through the same formulas.
    For ReLU it is the Hessian with the activation pattern held fixed (σ'' = 0 off the kinks)."""
    W1, b1, W2, b2 = (onp.asarray(p, onp.float64) for p in parts)
    X, n = onp.asarray(X, onp.float64), len(X)
    Y = onp.eye(W2.shape[0])[onp.asarray(labels).astype(int)]
    z = X @ W1.T + b1
    if activation == "swish":
        s = 1 / (1 + onp.exp(-z))
        a, d1, d2 = z * s, s + z * s * (1 - s), s * (1 - s) * (2 + z * (1 - 2 * s))
    else:
        a, d1, d2 = onp.maximum(z, 0), (z > 0).astype(float), onp.zeros_like(z)
    o = a @ W2.T + b2
    o_max = o.max(axis=1, keepdims=True)
    log_p = o - o_max - onp.log(onp.exp(o - o_max).sum(axis=1, keepdims=True))
    p = onp.exp(log_p)
    loss = -(Y * log_p).sum() / n
    do = (p - Y) / n  # ∂L/∂o
    da = do @ W2
    dz = da * d1
    gradient = onp.concatenate([(dz.T @ X).ravel(), dz.sum(0), (do.T @ a).ravel(), do.sum(0)])
    if directions is None:
        return loss, gradient
    V1, c1, V2, c2 = (onp.asarray(v, onp.float64) for v in directions)
    Rz = X @ V1.T + c1
    Ra = d1 * Rz
    Ro = Ra @ W2.T + a @ V2.T + c2
    Rdo = (p * Ro - p * (p * Ro).sum(axis=1, keepdims=True)) / n  # the softmax's Jacobian times Ro
    Rda = Rdo @ W2 + do @ V2
    Rdz = Rda * d1 + da * d2 * Rz
    product = onp.concatenate([(Rdz.T @ X).ravel(), Rdz.sum(0), (Rdo.T @ a + do.T @ Ra).ravel(),
                               Rdo.sum(0)])
    return loss, gradient, product


def exact_hvp(X, labels, theta, shapes, activation="swish"):
    """v ↦ H·v at θ, exact, for the MLP of `shapes`."""
    parts = sharpness.split(theta, shapes)
    return lambda v: swish_mlp(X, labels, parts, sharpness.split(v, shapes), activation)[2]


def exact_hessian(X, labels, theta, shapes, activation="swish"):
    product = exact_hvp(X, labels, theta, shapes, activation)
    return onp.column_stack([product(column) for column in onp.eye(len(theta))])


@pytest.fixture(scope="module")
def small_mlp():
    """A float64 digits MLP with 8 Swish units (610 parameters) on 300 training digits, moved off its
    initial weights by 100 steps of gradient descent, as a `hessian.BlockLoss`, with X and labels."""
    data = digits.load()
    X, labels = data.train_features[:300], data.train_labels[:300]
    net = digits.mlp(8, dtype="float64")
    f = hessian.BlockLoss(net, digits.classification_loss(), X, labels)
    theta = f.get()
    for _ in range(100):
        theta = theta - 0.5 * f.gradient(theta)
    f.set(theta)
    return f, theta, X, labels


def test_the_numpy_mlp_is_the_gluon_mlp(small_mlp):
    """Loss and gradient of the NumPy formulas against Gluon's autograd: float64 rounding only."""
    f, theta, X, labels = small_mlp
    value, gradient = f.value_and_gradient(theta)
    loss, exact = swish_mlp(X, labels, sharpness.split(theta, f.shapes))
    assert loss == pytest.approx(value, rel=1e-12)
    onp.testing.assert_allclose(gradient, exact, rtol=1e-9, atol=1e-12 * onp.abs(exact).max())


def test_finite_difference_products_match_the_exact_ones_with_swish(small_mlp):
    """Central differences of autograd gradients have error O(h²) + rounding/h with h ≈ 6e-6 here:
    about 1e-9 of the product's size (1e-6 allowed)."""
    f, theta, X, labels = small_mlp
    product = exact_hvp(X, labels, theta, f.shapes)
    for v in onp.random.default_rng(3).standard_normal((3, f.size)):
        exact = product(v)
        assert onp.linalg.norm(f.hvp(v, theta) - exact) <= 1e-6 * onp.linalg.norm(exact)


def test_top_curvature_matches_the_exact_hessian(small_mlp):
    """λ_max from power iteration on the finite-difference products against `eigh` of the exact
    Hessian (610 × 610, built column by column from the R-operator). Power iteration run to
    rtol 1e-10 on a gap measured here leaves about 1e-6; the Rayleigh quotient never exceeds λ_max
    by more than the products' error."""
    f, theta, X, labels = small_mlp
    H = exact_hessian(X, labels, theta, f.shapes)
    assert onp.max(onp.abs(H - H.T)) <= 1e-12 * onp.max(onp.abs(H))  # exact: symmetric to rounding
    eigenvalues = onp.linalg.eigvalsh(H)
    assert eigenvalues[-1] > abs(eigenvalues[0])  # the largest in magnitude is λ_max here
    found = sharpness.top_curvature(lambda v: f.hvp(v, theta), f.size, num_iterations=3000, rtol=1e-10)
    assert found.trusted and found.reason == "" and found.asymmetry < 1e-8
    assert found.top_eigenvalue == pytest.approx(eigenvalues[-1], rel=1e-5)
    assert found.top_eigenvalue <= eigenvalues[-1] * (1 + 1e-7)


def test_top_curvature_refuses_relu_products_across_a_kink(small_mlp):
    """With ReLU and one example's pre-activation exactly at a kink, θ ± hv sit on the two sides for every
    v: the difference of gradients jumps by a fixed vector J over 2h, Ĥv = Hv ± J/2h, which is not
    symmetric. The check refuses λ_max; the exact Hessian (pattern held) is symmetric and λ_max > 0."""
    _, _, X, labels = small_mlp
    net = digits.mlp(8, "relu", dtype="float64")
    f = hessian.BlockLoss(net, digits.classification_loss(), X, labels)
    theta = f.get()
    W1, b1 = sharpness.split(theta, f.shapes)[:2]
    theta[W1.size] = -W1[0] @ onp.asarray(X[0], onp.float64)  # b1[0]: unit 0 at its kink for example 0
    found = sharpness.top_curvature(lambda v: f.hvp(v, theta), f.size, num_iterations=5)
    assert not found.trusted and "not symmetric" in found.reason
    assert found.asymmetry > 1e3 * sharpness.SYMMETRY_TOL
    H = exact_hessian(X, labels, theta, f.shapes, activation="relu")
    assert onp.linalg.eigvalsh(H)[-1] > 0
    smooth = sharpness.top_curvature(exact_hvp(X, labels, theta, f.shapes, "relu"), f.size)
    assert smooth.trusted


def test_top_curvature_refuses_a_negative_largest_eigenvalue():
    """A symmetric matrix whose eigenvalue of largest magnitude is −3: not a minimum, refused."""
    A = onp.diag([-3.0, 1.0, 0.5])
    found = sharpness.top_curvature(lambda v: A @ v, 3, num_iterations=200, rtol=1e-12)
    assert found.top_eigenvalue == pytest.approx(-3.0, rel=1e-9)
    assert not found.trusted and "not positive" in found.reason and found.asymmetry < 1e-15
    flipped = sharpness.top_curvature(lambda v: -A @ v, 3, num_iterations=200, rtol=1e-12)
    assert flipped.trusted and flipped.top_eigenvalue == pytest.approx(3.0, rel=1e-9)


def test_top_curvatures_of_several_runs_are_each_run_alone():
    """Several Hessians iterated at once, each from its own seed, each stopping by itself (spectral gaps
    from 1.01 to 10 take from a few to hundreds of iterations): the same λ, vector and check as
    `top_curvature` on each alone, to the last bit; one run's products are made unsymmetric and only
    that run is refused."""
    rng = onp.random.default_rng(5)
    size, matrices = 12, []
    for gap in (10.0, 1.5, 1.01):
        basis = onp.linalg.qr(rng.standard_normal((size, size)))[0]
        matrices.append(basis @ onp.diag(onp.r_[onp.linspace(0.1, 1.0, size - 1), gap]) @ basis.T)
    skew = onp.triu(rng.standard_normal((size, size)), 1) * 1e-3
    matrices.append(matrices[0] + skew)  # not a Hessian: u·Av ≠ v·Au
    seeds, calls = [3, 4, 5, 3], []

    def products(runs, vectors):
        calls.append(len(runs))
        return onp.array([matrices[run] @ vector for run, vector in zip(runs, vectors)])

    together = sharpness.top_curvatures(products, size, seeds, num_iterations=500, rtol=1e-9)
    for k, found in enumerate(together):
        alone = sharpness.top_curvature(lambda v: matrices[k] @ v, size, 500, 1e-9, seed=seeds[k])
        assert found.top_eigenvalue == alone.top_eigenvalue and found.asymmetry == alone.asymmetry
        onp.testing.assert_array_equal(found.vector, alone.vector)
        assert found.trusted == alone.trusted and found.reason == alone.reason
    assert [found.trusted for found in together] == [True, True, True, False]
    assert together[0].top_eigenvalue == pytest.approx(10.0, rel=1e-8)
    assert calls[0] == 4 and min(calls[:-1]) < 4 and calls[-1] == 8  # runs stop apart; one check pass


# Paired comparisons over seeds -------------------------------------------------------------------

def test_paired_difference_against_scipy_and_its_power_by_simulation():
    """Mean, interval and p-value against scipy's paired t-test; the detectable difference against a
    simulation: normal differences of that mean and the same spread are found significant in 80% of
    20 000 simulated experiments (binomial standard error 0.3%: within 1.5%)."""
    from scipy import stats

    rng = onp.random.default_rng(5)
    first = rng.normal(0.1, 0.02, 5)
    second = first + rng.normal(0.01, 0.01, 5)
    found = sharpness.paired_difference(first, second)
    test = stats.ttest_rel(second, first)
    differences = second - first
    half = stats.t.ppf(0.975, 4) * differences.std(ddof=1) / onp.sqrt(5)
    assert found.p_value == pytest.approx(test.pvalue, rel=1e-10)
    assert found.mean == pytest.approx(differences.mean(), rel=1e-12)
    assert (found.low, found.high) == pytest.approx((differences.mean() - half, differences.mean() + half))
    assert found.count == 5
    spread = differences.std(ddof=1)
    simulated = rng.normal(found.detectable, spread, (20_000, 5))
    t_values = simulated.mean(axis=1) / (simulated.std(axis=1, ddof=1) / onp.sqrt(5))
    power = onp.mean(onp.abs(t_values) > stats.t.ppf(0.975, 4))
    assert power == pytest.approx(0.8, abs=0.015)


def test_paired_difference_signs_and_bad_input():
    assert sharpness.paired_difference([1.0, 2.0, 3.0], [2.0, 3.1, 4.05]).sign == 1
    assert sharpness.paired_difference([1.0, 2.0, 3.0], [0.0, 0.9, 2.05]).sign == -1
    assert sharpness.paired_difference([1.0, 2.0, 3.0], [1.5, 1.5, 3.1]).sign == 0
    same = sharpness.paired_difference([1.0, 2.0], [1.0, 2.0])  # identical runs: no difference at all
    assert (same.mean, same.p_value, same.sign, same.detectable) == (0.0, 1.0, 0, 0.0)
    with pytest.raises(ValueError, match="at least 2"):
        sharpness.paired_difference([1.0], [2.0])


def quadratic(A, center=None, offset=0.0):
    """value_and_grad of c + ½(x − center)ᵀA(x − center)."""
    center = onp.zeros(len(A)) if center is None else onp.asarray(center, float)

    def value_and_grad(x):
        r = x - center
        return offset + 0.5 * r @ A @ r, A @ r
    return value_and_grad


def best_corner_increase(A, half_widths):
    """max over the 2^d corners y = ±half_widths of ½yᵀAy, by brute force."""
    return max(0.5 * (half_widths * s) @ A @ (half_widths * s)
               for s in itertools.product((-1.0, 1.0), repeat=len(A)))


def random_psd(rng, d):
    M = rng.standard_normal((d, d))
    return M @ M.T


def test_diagonal_quadratic_matches_the_closed_form():
    """Diagonal A ⪰ 0: every corner gives ½ Σ a_i h_i², h_i = ε(|x*_i| + 1); φ = 100 · that / (1 + c)."""
    a = onp.array([3.0, 0.5, 1.0, 7.0, 0.01])
    center, offset, epsilon = onp.array([0.0, -2.0, 0.5, 10.0, 1.0]), 0.3, 1e-3
    found = sharpness.keskar_sharpness(quadratic(onp.diag(a), center, offset), center, epsilon)
    increase = 0.5 * onp.sum(a * (epsilon * (onp.abs(center) + 1)) ** 2)
    # The search ends on the box's faces (L-BFGS-B clips to the bounds exactly): only float64 rounding is left.
    assert found.f_max - found.f_x == pytest.approx(increase, rel=1e-9)
    assert found.phi == pytest.approx(100 * increase / (1 + offset), rel=1e-9)
    assert onp.all(onp.abs(found.y) <= epsilon * (onp.abs(center) + 1) * (1 + 1e-12))


def test_two_dimensional_quadratic_is_exact_and_larger_ones_are_bounded():
    """General A ⪰ 0 at its minimum x = 0 against the brute-force best corner.

    In 2-D the corner sign(v) of the top eigenvector v is the best corner (v₁v₂ has the sign of a₁₂), so
    the search must match exactly. In d ≤ 8 a local search may miss the best corner (the problem is
    NP-hard in general), so the check is the bracket it must land in: at most the brute-force maximum,
    at least what the eigenvector's corner guarantees, ½ε²λ_max‖v‖₁² (A ⪰ λ_max vvᵀ).
    """
    rng, epsilon = onp.random.default_rng(0), 0.1
    for d in (2, 2, 2, 4, 6, 8):
        A = random_psd(rng, d)
        eigenvalues, vectors = onp.linalg.eigh(A)
        top = vectors[:, -1]
        found = sharpness.keskar_sharpness(quadratic(A), onp.zeros(d), epsilon, directions=[top])
        best = best_corner_increase(A, onp.full(d, epsilon))
        increase = found.f_max - found.f_x
        assert increase <= best * (1 + 1e-12)  # the search never leaves the box
        assert increase >= 0.5 * epsilon ** 2 * eigenvalues[-1] * onp.sum(onp.abs(top)) ** 2 * (1 - 1e-12)
        if d == 2:
            assert increase == pytest.approx(best, rel=1e-12)


def linear_regression_at_optimum(scales=(3.0, 0.5)):
    """A float64 Gluon Dense(1) on rescaled house data as a `hessian.BlockLoss`, its least-squares θ*, the data."""
    house = house_data.synthetic_house_prices(200, true_w=(2.0, -3.4), true_b=4.2, noise=0.5, seed=3)
    features = landscape.rescale(house.features, scales)
    net = model.linear_regression(num_inputs=2, hybrid=True)
    net.cast("float64")
    flat = hessian.BlockLoss(net, model.l2_loss(), features, house.labels)
    optimum = landscape.optimum(features, house.labels)  # [w1, w2, b], the order of the block's parameters
    return flat, optimum, features, house.labels


def test_value_and_gradient_match_linear_regression_formulas():
    flat, optimum, features, labels = linear_regression_at_optimum()
    point = optimum + onp.array([0.3, -0.2, 0.7])
    before = flat.get()
    value, grad = flat.value_and_gradient(point)
    # float64 sums over 200 examples: rounding near 1e-14 relative.
    assert value == pytest.approx(landscape.mean_loss(features, labels, point), rel=1e-12)
    onp.testing.assert_allclose(grad, landscape.gradient(features, labels, point), rtol=1e-10, atol=1e-12)
    onp.testing.assert_array_equal(flat.get(), before)  # the block keeps its own parameters


def test_linear_regression_sharpness_matches_its_analytic_hessian():
    """At the least-squares optimum f(x* + y) − f(x*) = ½yᵀAy exactly, A = X̃ᵀX̃/n; 3 parameters, 8 corners.

    Here every corner is a local maximum (A is nearly diagonal), so which one a local search ends on
    depends on its starts: the checks are that φ equals ½yᵀAy of the step it reports, that the step is a
    corner, and that with 8 random starts (26 = 3 per corner pair on average) it reaches the brute-force best.
    """
    flat, optimum, features, labels = linear_regression_at_optimum()
    A, epsilon = landscape.hessian(features), 1e-3
    half = sharpness.box_half_widths(optimum, epsilon)
    top = onp.linalg.eigh(A)[1][:, -1]
    f_star = landscape.mean_loss(features, labels, optimum)
    best = best_corner_increase(A, half)
    for random_starts in (2, 8):
        found = sharpness.keskar_sharpness(flat.value_and_gradient, optimum, epsilon, directions=[top],
                                           random_starts=random_starts)
        # The increase (~4e-5) is a difference of two float64 losses near 0.12 (~1e-17 absolute) and the
        # lstsq optimum's gradient is ~1e-15: 1e-8 relative leaves ample room.
        assert found.f_x == pytest.approx(f_star, rel=1e-12)
        onp.testing.assert_allclose(onp.abs(found.y), half, rtol=1e-12)  # a corner of the box
        assert found.f_max - found.f_x == pytest.approx(0.5 * found.y @ A @ found.y, rel=1e-8)
        assert found.phi == pytest.approx(100 * (found.f_max - found.f_x) / (1 + f_star), rel=1e-12)
        assert found.f_max - found.f_x <= best * (1 + 1e-8)
    assert found.f_max - found.f_x == pytest.approx(best, rel=1e-8)


def test_power_iteration_on_hvps_finds_linear_regressions_top_eigenvalue():
    """The lesson's curvature measure: `hessian.top_eigenvalue` on `BlockLoss.hvp` (central differences of
    autograd gradients, exact for a quadratic up to float64 rounding, ~1e-10 relative), against the largest
    eigenvalue of X̃ᵀX̃/n; eigenvalues ~9, 1, 0.25 make the power iteration converge like (1/9)^k."""
    flat, optimum, features, labels = linear_regression_at_optimum()
    eigenvalue, vector = hessian.top_eigenvalue(lambda v: flat.hvp(v, optimum), flat.size, rtol=1e-12)
    values, vectors = onp.linalg.eigh(landscape.hessian(features))
    assert eigenvalue == pytest.approx(values[-1], rel=1e-8)
    assert abs(vector @ vectors[:, -1]) == pytest.approx(1.0, abs=1e-6)


def test_losses_along_a_line_follow_the_linear_regression_loss():
    flat, optimum, features, labels = linear_regression_at_optimum()
    end = optimum + onp.array([1.0, -2.0, 0.5])
    points = sharpness.line(optimum, end, onp.linspace(-0.5, 1.5, 9))
    onp.testing.assert_allclose(points[2], optimum)  # α = 0
    onp.testing.assert_allclose(points[6], end)  # α = 1
    found = sharpness.losses_along(flat.value, points)
    truth = [landscape.mean_loss(features, labels, p) for p in points]
    onp.testing.assert_allclose(found, truth, rtol=1e-12)


def test_losses_along_random_directions_follow_the_quadratic():
    """At the least-squares optimum, f(θ* + αd) = f* + ½α² dᵀAd exactly; the directions are redrawn from the
    same generator (a bias direction is zero, so dᵀAd uses only the weight part)."""
    flat, optimum, features, labels = linear_regression_at_optimum()
    alphas = onp.array([-1.0, -0.5, 0.0, 0.5, 2.0])
    rows = sharpness.direction_losses(flat.value, optimum, flat.shapes, alphas, num_directions=3, seed=7)
    A, f_star = landscape.hessian(features), landscape.mean_loss(features, labels, optimum)
    rng, parts = onp.random.default_rng(7), sharpness.split(optimum, flat.shapes)
    for row in rows:
        d = sharpness.filter_normalized_direction(parts, seed=rng)
        assert d[-1] == 0 and onp.linalg.norm(d[:2]) == pytest.approx(onp.linalg.norm(optimum[:2]), rel=1e-12)
        onp.testing.assert_allclose(row, f_star + 0.5 * alphas ** 2 * (d @ A @ d), rtol=1e-10)
    calls = []

    def values(points):  # all points in one call, as lesson 9's networks side by side take them
        calls.append(len(points))
        return flat.values(points)

    together = sharpness.direction_losses(flat.value, optimum, flat.shapes, alphas, 3, 7, values)
    onp.testing.assert_array_equal(together, rows)
    assert calls == [3 * len(alphas)]


def test_filter_normalized_direction_rescales_rows_and_skips_biases():
    weight, bias = onp.arange(12.0).reshape(3, 4) - 5, onp.array([1.0, 2.0, 3.0])
    parts = sharpness.split(onp.append(weight.ravel(), bias), [(3, 4), (3,)])
    onp.testing.assert_array_equal(parts[0], weight)
    direction = sharpness.filter_normalized_direction(parts, seed=4)
    rows = direction[:12].reshape(3, 4)
    onp.testing.assert_allclose(onp.linalg.norm(rows, axis=1), onp.linalg.norm(weight, axis=1), rtol=1e-12)
    assert onp.all(direction[12:] == 0)
    onp.testing.assert_array_equal(direction, sharpness.filter_normalized_direction([weight, bias], seed=4))


def test_sharpness_refuses_bad_settings():
    f = quadratic(onp.eye(2))
    with pytest.raises(ValueError, match="epsilon"):
        sharpness.keskar_sharpness(f, onp.zeros(2), epsilon=0)
    with pytest.raises(ValueError, match="max_iterations"):
        sharpness.keskar_sharpness(f, onp.zeros(2), max_iterations=0)
    with pytest.raises(ValueError, match="no start"):
        sharpness.keskar_sharpness(f, onp.zeros(2), random_starts=0)
    with pytest.raises(ValueError, match="6 numbers"):
        sharpness.split(onp.zeros(5), [(2, 2), (2,)])


def test_digits_split_is_fixed_stratified_and_complete():
    data = digits.load(test_fraction=0.25, seed=0)
    assert data.num_train + data.num_test == 1797  # all of scikit-learn's digits
    assert data.train_features.shape == (data.num_train, 64) and data.num_test == round(0.25 * 1797)
    assert data.train_features.min() == 0.0 and data.train_features.max() == 1.0
    everything = onp.concatenate([data.train_labels, data.test_labels])
    counts = onp.bincount(everything.astype(int))
    test_counts = onp.bincount(data.test_labels.astype(int), minlength=10)
    assert onp.all(onp.abs(test_counts - 0.25 * counts) <= 1)  # stratified: each class within one example
    again, other = digits.load(0.25, seed=0), digits.load(0.25, seed=1)
    onp.testing.assert_array_equal(again.test_features, data.test_features)
    assert not onp.array_equal(other.test_features, data.test_features)
    for bad in (0, 1, 0.001, True):
        with pytest.raises(ValueError, match="test_fraction"):
            digits.load(bad)


def test_evaluate_matches_numpy_cross_entropy_and_accuracy():
    data = digits.load(seed=0)
    net = digits.mlp((16,), dtype="float64")
    loss, accuracy = digits.evaluate(net, data.test_features, data.test_labels)
    logits = net(mx_np.array(data.test_features, dtype="float64")).asnumpy()
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - onp.log(onp.exp(shifted).sum(axis=1, keepdims=True))
    labels = data.test_labels.astype(int)
    assert loss == pytest.approx(-log_softmax[onp.arange(len(labels)), labels].mean(), rel=1e-10)
    assert accuracy == pytest.approx(onp.mean(logits.argmax(axis=1) == labels), abs=1e-12)
    with pytest.raises(ValueError, match="hidden_units"):
        digits.mlp((0,))
