"""Finite-difference Hessians of Gluon blocks against analytic truths, and the eigen-analysis of a point.

Truths used: the lecture's L(w1, w2) = (1 − w1·w2)² (Hessian [[2w2², 4w1w2 − 2], [4w1w2 − 2, 2w1²]],
[[0, −2], [−2, 0]] at the origin); linear regression's constant Hessian X̃ᵀX̃/n written out here;
random quadratics ½wᵀAw + bᵀw (Hessian A); and a tanh MLP whose gradient is written out in float64
NumPy and differentiated once more by the complex step (tests/oracles.py), independent of MXNet,
for one network and for many side by side (`TanhNetworks`).

Tolerances. Central differences of float64 autograd gradients with h = ε^(1/3) ≈ 6e-6: rounding
costs about ε·|g|/h ≈ 4e-11·|g| and truncation h²/6·|∂⁴L| ≈ 6e-12·|∂⁴L|, so 1e-8 relative to the
largest entry leaves a margin of about 100. In float32, h = ε^(1/3) ≈ 5e-3 and both terms are
about ε^(2/3) ≈ 2.4e-5 relative; gradients summed over n examples in float32 add a little more, so
float32 checks allow 5e-4 relative (20 times ε^(2/3)).
"""
import numpy as onp
import pytest
from mxnet import gluon, init, np
from mxnet.gluon import nn
from oracles import complex_step_hessian, lecture_hessian, mlp_gradient, mlp_loss

from gluon_lessons import hessian, landscape, model
from gluon_lessons.seeding import set_seed

FLOAT64_RTOL = 1e-8
FLOAT32_RTOL = 5e-4
RTOL = {"float64": FLOAT64_RTOL, "float32": FLOAT32_RTOL}


def close(actual, expected, rtol):
    """max |actual − expected| <= rtol · max(1, max |expected|)."""
    expected = onp.asarray(expected, dtype=onp.float64)
    scale = max(1.0, float(onp.max(onp.abs(expected))))
    return float(onp.max(onp.abs(onp.asarray(actual) - expected))) <= rtol * scale


# ---------------------------------------------------------------- the lecture's saddle through Gluon

def lecture_loss(w1, w2, dtype="float64"):
    """ŷ = w2·(w1·x), no bias or activation, x = 1, y = 1, squared error (L2Loss(weight=2) = (ŷ − y)²)."""
    net = nn.HybridSequential()
    net.add(nn.Dense(1, use_bias=False, in_units=1), nn.Dense(1, use_bias=False, in_units=1))
    net.initialize()
    net.cast(dtype)
    net[0].weight.set_data(np.array([[w1]], dtype=dtype))
    net[1].weight.set_data(np.array([[w2]], dtype=dtype))
    return hessian.BlockLoss(net, gluon.loss.L2Loss(weight=2.0), onp.ones((1, 1)), onp.ones(1))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lecture_origin_is_a_saddle_with_eigenvalues_plus_minus_two(dtype):
    f = lecture_loss(0.0, 0.0, dtype)
    assert f.value() == 1.0
    assert onp.array_equal(f.gradient(), [0.0, 0.0])  # every term of the gradient carries a factor w1 or w2
    raw = f.hessian(symmetrize=False)
    assert close(raw, [[0, -2], [-2, 0]], RTOL[dtype])
    report = hessian.examine(f.hessian(), tol=1e-3)
    assert report.kind == "saddle"
    assert onp.allclose(report.eigenvalues, [-2, 2], rtol=RTOL[dtype])
    assert report.counts == (1, 0, 1) and report.minimum_ratio == 0.5
    u = report.escape_direction
    assert abs(abs(u @ [1, 1]) / onp.sqrt(2) - 1) < 1e-6  # ±[1, 1]/√2
    for t in (0.3, 1.0, 1.3):  # L(t, t) = (1 − t²)² < 1 for 0 < |t| < √2
        value = f.value(t * onp.sqrt(2) * u)
        assert value == pytest.approx((1 - t * t) ** 2, rel=RTOL[dtype])
        assert value < 1.0
    assert onp.array_equal(f.get(), [0.0, 0.0])  # evaluating elsewhere put the parameters back


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("point", [(1.0, 1.0), (2.0, 0.5), (0.3, -0.7), (1.5, 2.0), (-1.2, 0.4)])
def test_lecture_hessian_and_gradient_anywhere(point, dtype):
    w1, w2 = point
    f = lecture_loss(w1, w2, dtype)
    assert close(f.gradient(), [-2 * w2 * (1 - w1 * w2), -2 * w1 * (1 - w1 * w2)], RTOL[dtype])
    assert close(f.hessian(), lecture_hessian(w1, w2), RTOL[dtype])
    assert close(f.hvp([0.6, -0.8]), lecture_hessian(w1, w2) @ [0.6, -0.8], RTOL[dtype])


@pytest.mark.parametrize("point", [(1.0, 1.0), (2.0, 0.5), (-0.5, -2.0)])
def test_points_on_the_valley_are_degenerate(point):
    f = lecture_loss(*point)
    assert abs(f.value()) < 1e-15 and onp.max(onp.abs(f.gradient())) < 1e-14
    report = hessian.examine(f.hessian(), tol=1e-6)
    # H = [[2w2², 2], [2, 2w1²]] with w1·w2 = 1: determinant 4 − 4 = 0, trace 2(w1² + w2²)
    assert report.kind == "degenerate" and report.counts == (0, 1, 1)
    assert report.eigenvalues[-1] == pytest.approx(2 * (point[0] ** 2 + point[1] ** 2), rel=1e-8)


# ---------------------------------------------------------------- linear regression: X̃ᵀX̃/n

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_linear_regression_hessian_is_the_design_gram_matrix(walkthrough, dtype):
    X, y = walkthrough.features[:200], walkthrough.labels[:200]
    net = model.linear_regression(num_inputs=X.shape[1], sigma=1.0, hybrid=True)
    net.cast(dtype)
    f = hessian.BlockLoss(net, model.l2_loss(), X, y)
    design = onp.hstack([onp.asarray(X, onp.float64), onp.ones((len(X), 1))])
    truth = design.T @ design / len(X)
    theta = f.get()
    assert close(f.hessian(), truth, RTOL[dtype])
    assert close(f.gradient(), design.T @ (design @ theta - y) / len(X), RTOL[dtype])
    assert f.value() == pytest.approx(0.5 * onp.mean((design @ theta - y) ** 2), rel=RTOL[dtype])
    assert close(f.hessian(), landscape.hessian(X), RTOL[dtype])  # the library's formula agrees
    report = hessian.examine(f.hessian(), tol=1e-6)
    assert report.kind == "minimum" and report.minimum_ratio == 1.0


# ---------------------------------------------------------------- random quadratics through of_function

def quadratic(A, b):
    n = len(b)
    return lambda w: (sum(0.5 * float(A[i, j]) * w[i] * w[j] for i in range(n) for j in range(n))
                      + sum(float(b[i]) * w[i] for i in range(n)))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hvp_of_random_quadratics(seed, dtype):
    rng = onp.random.default_rng(seed)
    n = 5
    M = rng.standard_normal((n, n))
    A, b, point = (M + M.T) / 2, rng.standard_normal(n), rng.standard_normal(n)
    f = hessian.of_function(quadratic(A, b), point, dtype)
    assert close(f.gradient(), A @ f.get() + b, RTOL[dtype])
    for _ in range(3):
        v = rng.standard_normal(n) * 3
        assert close(f.hvp(v), A @ v, RTOL[dtype] * onp.linalg.norm(v))
    assert close(f.hessian(), A, RTOL[dtype])
    expected_kind = {0: "maximum", n: "minimum"}.get(int(onp.sum(onp.linalg.eigvalsh(A) > 0)), "saddle")
    assert hessian.examine(f.hessian(), tol=1e-3).kind == expected_kind


# ---------------------------------------------------------------- a tanh MLP against NumPy

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_mlp_hessian_against_complex_step_of_numpy_gradient(dtype):
    rng = onp.random.default_rng(3)
    n, d, hidden = 40, 3, 4
    X = rng.standard_normal((n, d))
    y = onp.sin(X @ [1.0, -0.5, 0.3])
    net = nn.HybridSequential()
    net.add(nn.Dense(hidden, activation="tanh", in_units=d), nn.Dense(1, in_units=hidden))
    # Seeded: the weights must not depend on which tests ran before in this process. Over MXNet
    # seeds 0-39 the float32 differences' largest error measured 7e-6 to 3.5e-4 of max(1, |H|).
    set_seed(0)
    net.initialize(init.Normal(0.8))
    net.cast(dtype)
    f = hessian.BlockLoss(net, model.l2_loss(), X, y)
    theta = f.get()
    assert f.size == hidden * d + hidden + hidden + 1
    truth = complex_step_hessian(theta, X, y, hidden)
    assert onp.allclose(truth, truth.T, atol=1e-14)  # the oracle itself is symmetric
    assert close(f.gradient(), mlp_gradient(theta, X, y, hidden), RTOL[dtype])
    raw = f.hessian(symmetrize=False)
    assert close(raw, truth, RTOL[dtype])
    assert hessian.asymmetry(raw) <= RTOL[dtype] * max(1.0, onp.max(onp.abs(truth)))
    v = rng.standard_normal(f.size)
    assert close(f.hvp(v), truth @ v, RTOL[dtype] * onp.linalg.norm(v))
    assert hessian.examine(f.hessian(), 1e-6).kind == hessian.examine(truth, 1e-6).kind


# ---------------------------------------------------------------- many tanh networks side by side

def side_by_side(num_runs=3, input_dim=2, hidden=4, n=30, seed=6):
    rng = onp.random.default_rng(seed)
    X = rng.standard_normal((n, input_dim))
    y = onp.sin(X @ onp.linspace(1.0, -0.5, input_dim))
    networks = hessian.TanhNetworks(num_runs, input_dim, hidden)
    networks.initialize()
    networks.cast("float64")
    runs = hessian.RunsLoss(networks, X, y)
    rows = rng.normal(0, 0.8, (num_runs, networks.size))
    runs.set(rows)
    return runs, rows, X, y


def test_each_row_is_the_gluon_network_with_those_weights():
    runs, rows, X, y = side_by_side()
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="tanh", in_units=2), nn.Dense(1, in_units=4))
    net.initialize()
    net.cast("float64")
    one = hessian.BlockLoss(net, model.l2_loss(), X, y)
    assert runs.run_size == one.size == 4 * (2 + 2) + 1
    predictions = runs.net(np.array(X, dtype="float64")).asnumpy()
    for k, row in enumerate(rows):
        one.set(row)
        onp.testing.assert_allclose(predictions[:, k], net(np.array(X, dtype="float64")).asnumpy().ravel(),
                                    rtol=1e-12)
        assert runs.run_values()[k] == pytest.approx(mlp_loss(row, X, y, 4), rel=1e-12)
        assert close(runs.run_gradients()[k], mlp_gradient(row, X, y, 4), FLOAT64_RTOL)
    named = runs.net.named(rows[1])
    assert list(named) == ["w1", "b1", "w2", "b2"]
    onp.testing.assert_array_equal(named["w1"], rows[1][:8].reshape(4, 2))
    assert named["b2"][0] == rows[1][-1]


def test_run_hessians_are_each_runs_hessian_by_the_complex_step():
    runs, rows, X, y = side_by_side(num_runs=4)
    raw = runs.run_hessians(symmetrize=False)
    for k, row in enumerate(rows):
        truth = complex_step_hessian(row, X, y, 4)
        assert close(raw[k], truth, FLOAT64_RTOL)
        assert hessian.asymmetry(raw[k]) <= FLOAT64_RTOL * max(1.0, onp.max(onp.abs(truth)))
    # the block-diagonal shortcut against one run at a time through BlockLoss.hessian
    one = hessian.BlockLoss(runs.net, hessian.sum_of_l2_losses, X, y)
    onp.testing.assert_allclose(one.hessian()[:runs.run_size, :runs.run_size], runs.run_hessians()[0],
                                atol=1e-9)
    onp.testing.assert_array_equal(runs.get(), rows.ravel())  # the parameters were put back


def test_newton_on_all_runs_at_once_follows_each_run_alone():
    runs, rows, X, y = side_by_side(num_runs=3)
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="tanh", in_units=2), nn.Dense(1, in_units=4))
    net.initialize()
    net.cast("float64")
    one = hessian.BlockLoss(net, model.l2_loss(), X, y)
    ends, norms = hessian.newton(runs.run_gradients, runs.run_hessians, rows, tol=1e-6, grad_tol=1e-9,
                                 max_iterations=4)
    for k, row in enumerate(rows):
        alone, alone_norms = hessian.find_critical_point(one, row, tol=1e-6, grad_tol=1e-9, max_iterations=4)
        onp.testing.assert_allclose(ends[k], alone, atol=1e-9)
        onp.testing.assert_allclose(norms[k], alone_norms, rtol=1e-6)
        assert norms[k][-1] == pytest.approx(onp.linalg.norm(mlp_gradient(ends[k], X, y, 4)), rel=1e-6)


def test_newton_stops_when_it_stagnates():
    f = lecture_loss(0.3, 0.1)
    _, going_on = hessian.find_critical_point(f, tol=1e-6, grad_tol=1e-10)
    # demanding a thousandfold drop per iteration: the first iteration that falls short ends it
    _, stopped = hessian.find_critical_point(f, tol=1e-6, grad_tol=1e-10, min_progress=1e-3)
    first_short = next(i for i in range(1, len(going_on)) if going_on[i] > 1e-3 * going_on[i - 1])
    assert stopped == going_on[:first_short + 1] and len(stopped) < len(going_on)
    with pytest.raises(ValueError, match="min_progress"):
        hessian.find_critical_point(f, min_progress=0)


# ---------------------------------------------------------------- eigen-analysis

@pytest.mark.parametrize("values, kind, ratio", [
    ([1.0, 2.0, 3.0], "minimum", 1.0),
    ([-1.0, -0.5], "maximum", 0.0),
    ([-2.0, 2.0], "saddle", 0.5),
    ([-1.0, 0.0, 4.0, 5.0], "saddle", 0.5),  # a zero eigenvalue does not undo a way down and a way up
    ([0.0, 4.0], "degenerate", 0.5),
    ([-3.0, 1e-9], "degenerate", 0.0),  # 1e-9 is within the tolerance below: counted as zero
    ([0.0, 0.0], "degenerate", 0.0),
])
def test_classify_and_minimum_ratio(values, kind, ratio):
    assert hessian.classify(values, tol=1e-6) == kind
    assert hessian.minimum_ratio(values, tol=1e-6) == ratio


def test_tolerance_decides_what_counts_as_zero():
    assert hessian.classify([1e-4, 2.0], tol=1e-6) == "minimum"
    assert hessian.classify([1e-4, 2.0], tol=1e-3) == "degenerate"
    assert hessian.sign_counts([-1e-4, 0.0, 1e-4, 5.0], tol=1e-3) == (0, 3, 1)


def test_examine_recovers_a_rotated_spectrum():
    rng = onp.random.default_rng(0)
    Q, _ = onp.linalg.qr(rng.standard_normal((6, 6)))
    values = onp.array([-3.0, -0.5, 0.0, 0.2, 1.0, 7.0])
    report = hessian.examine(Q @ onp.diag(values) @ Q.T, tol=1e-9)
    assert onp.allclose(report.eigenvalues, values, atol=1e-12)
    assert report.counts == (2, 1, 3) and report.kind == "saddle"
    assert abs(abs(report.escape_direction @ Q[:, 0]) - 1) < 1e-12  # the eigenvector of −3
    assert hessian.examine(onp.diag([1.0, 2.0]), tol=0).escape_direction is None


@pytest.mark.parametrize("top", [9.0, -9.0])
def test_power_iteration_finds_the_eigenvalue_largest_in_magnitude(top):
    rng = onp.random.default_rng(1)
    Q, _ = onp.linalg.qr(rng.standard_normal((8, 8)))
    values = onp.array([top, 4.0, 3.0, 1.0, 0.5, 0.0, -1.0, -2.0])
    A = Q @ onp.diag(values) @ Q.T
    # |4/9| per iteration: 60 iterations shrink the other components to 1e-21 of the top one
    value, vector = hessian.top_eigenvalue(lambda v: A @ v, 8, num_iterations=60, rtol=0)
    assert value == pytest.approx(top, rel=1e-12)
    assert abs(abs(vector @ Q[:, 0]) - 1) < 1e-9


def test_power_iteration_on_a_network_hvp_matches_the_full_hessian():
    f = lecture_loss(1.5, 2.0)
    truth = onp.linalg.eigvalsh(lecture_hessian(1.5, 2.0))
    value, _ = hessian.top_eigenvalue(f.hvp, f.size, rtol=1e-12)
    assert value == pytest.approx(truth[-1], rel=1e-7)  # float64 hvp: error ~1e-10 relative, see top


# ---------------------------------------------------------------- bad input

def test_bad_input_names_the_argument():
    f = lecture_loss(0.0, 0.0)
    with pytest.raises(ValueError, match="vector must hold 2"):
        f.hvp([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="theta must hold 2 finite"):
        f.value([onp.nan, 0.0])
    with pytest.raises(ValueError, match="step must be"):
        f.hessian(step=0)
    with pytest.raises(ValueError, match="tol must be"):
        hessian.classify([1.0], tol=-1)
    with pytest.raises(ValueError, match="symmetric"):
        hessian.examine([[0.0, 1.0], [0.0, 0.0]], tol=0)
    with pytest.raises(ValueError, match="size must be"):
        hessian.top_eigenvalue(lambda v: v, 0)
    with pytest.raises(ValueError, match="as many labels"):
        hessian.BlockLoss(lecture_loss(0, 0).net, gluon.loss.L2Loss(), onp.ones((3, 1)), onp.ones(2))


def test_newton_step_solves_the_quadratic_model():
    rng = onp.random.default_rng(2)
    Q, _ = onp.linalg.qr(rng.standard_normal((5, 5)))
    values = onp.array([-2.0, 0.0, 0.5, 1.0, 3.0])
    A, b = Q @ onp.diag(values) @ Q.T, rng.standard_normal(5)
    report = hessian.examine(A, tol=1e-9)
    step = report.newton_step(b)
    # ∇(½xᵀAx + bᵀx) = Ax + b vanishes at x = step, except along the zero eigenvalue's eigenvector
    residual = A @ step + b
    onp.testing.assert_allclose(residual, (Q[:, 1] @ b) * Q[:, 1], atol=1e-12)
    assert abs(step @ Q[:, 1]) < 1e-12


@pytest.mark.parametrize("start, expected", [((0.1, -0.05), "saddle"), ((0.3, 0.1), "saddle"),
                                             ((1.1, 0.95), "degenerate")])
def test_find_critical_point_reaches_the_lecture_points(start, expected):
    f = lecture_loss(*start)
    theta, norms = hessian.find_critical_point(f, tol=1e-6, grad_tol=1e-10)
    assert norms[-1] < 1e-10 and norms == sorted(norms, reverse=True)
    w1, w2 = theta
    # the critical points of (1 − w1·w2)² are the origin and the curve w1·w2 = 1 (gradient −2(1 − w1w2)(w2, w1))
    assert (abs(w1) < 1e-9 and abs(w2) < 1e-9) if expected == "saddle" else abs(w1 * w2 - 1) < 1e-9
    assert hessian.examine(f.hessian(theta), 1e-6).kind == expected
    assert onp.array_equal(f.get(), start)  # the block's own parameters were left alone


def test_find_critical_point_of_a_random_quadratic_is_its_solution():
    rng = onp.random.default_rng(5)
    Q, _ = onp.linalg.qr(rng.standard_normal((4, 4)))
    A = Q @ onp.diag([-1.5, -0.3, 0.8, 2.0]) @ Q.T  # a saddle: Newton must not care
    b = rng.standard_normal(4)
    f = hessian.of_function(quadratic(A, b), onp.zeros(4))
    theta, norms = hessian.find_critical_point(f, max_step=10.0)
    onp.testing.assert_allclose(theta, onp.linalg.solve(A, -b), atol=1e-8)
    assert len(norms) <= 3  # one exact Newton step on a quadratic (plus rounding)


def test_value_and_gradient_in_one_pass_and_mixed_types_refused():
    f = lecture_loss(0.5, 2.0)
    value, gradient = f.value_and_gradient([0.25, 2.0])
    assert value == pytest.approx((1 - 0.5) ** 2, rel=1e-15)
    onp.testing.assert_allclose(gradient, [-2 * 2.0 * 0.5, -2 * 0.25 * 0.5], rtol=1e-12)
    assert onp.array_equal(f.get(), [0.5, 2.0])
    f.net[1].cast("float32")
    with pytest.raises(ValueError, match="one float type"):
        hessian.BlockLoss(f.net, gluon.loss.L2Loss(), onp.ones((1, 1)), onp.ones(1))
