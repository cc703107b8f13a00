"""Lesson 3's from-scratch linear regression: its findings against truths, and its hand-written pieces
against Gluon's `Trainer('sgd')`, update by update.

Truths: the generator's weights, least squares from the normal equations, the heavy-ball rate √λ of an
oscillating run, the discounted sum of past gradients, and the walkthrough's own Gluon code written out
here (not `training.fit`): a `Dense(1)`, `L2Loss`, `Trainer('sgd', {'learning_rate', 'momentum'})`,
`trainer.step(len(X))`, fed the same batches as the scratch code, including a last partial batch of 8.

Tolerance of the update-by-update comparison: 1e-5 relative to the largest weight. Both sides compute
the same float32 numbers in a different order (Gluon's fused kernel forms lr * (grad * (1/B)), the
scratch code (lr * grad) / B), which costs about one ulp (1.2e-7 relative) per update; gradient descent
and momentum at these settings are contractions, so such rounding does not grow (measured: below 2e-7
over 40 updates). A real difference — a missing 1/B, the other momentum convention, a gradient off by
a factor — moves the weights by 1e-2 or more in one update.
"""
import math
import types

import numpy as onp
import pytest
from lesson_checks import (assert_recovers_truth_and_least_squares, assert_teaching_shape, check_figures,
                           check_json, mean_half_squared_error, normal_equations, run_for_namespace,
                           run_quietly)
from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

from gluon_lessons import data as house_data
from gluon_lessons.seeding import set_seed

npx.set_np()

TOLERANCE = 1e-5  # relative to max |weight|; see the module docstring
# The batch loss near the end is ~3.5e-3, a mean of squared residuals of ~0.08 each; a weight
# gap of 1e-5 relative (~3e-5) shifts each residual by up to ~1e-4, so up to a few 1e-4 of
# the loss (measured: 1.3e-5). A wrong update changes the loss by far more than 1e-4.
LOSS_TOLERANCE = 1e-4  # relative
LR, BATCH_SIZE, NUM_STEPS = 0.03, 32, 40  # 1000 examples: 31 batches of 32, one of 8, then epoch 2


@pytest.fixture(scope="module")
def walkthrough_data():
    return house_data.walkthrough_data()


@pytest.fixture(scope="module")
def lesson3(tmp_path_factory):
    return run_quietly("scratch", tmp_path_factory.mktemp("scratch"))


@pytest.fixture(scope="module")
def without_momentum(tmp_path_factory):
    """The lesson with momentum 0, so that its "momentum" runs are plain SGD: (namespace, text)."""
    return run_for_namespace("scratch", tmp_path_factory.mktemp("scratch_0"), momentum=0.0)


@pytest.fixture(scope="module")
def scratch(without_momentum):
    """The functions the lesson defines in its cells (linreg, squared_loss, sgd_step, train_scratch, ...)."""
    return types.SimpleNamespace(**without_momentum[0])


# ---------------------------------------------------------------- the lesson's findings

def test_scratch_weights_recover_the_truth_and_least_squares(lesson3, walkthrough_data):
    findings, text = lesson3
    assert_recovers_truth_and_least_squares(findings, walkthrough_data)
    # Momentum 0.9 at the same lr takes 10x larger effective steps and ends noisier.
    onp.testing.assert_allclose(findings["momentum_weight"], walkthrough_data.true_w, atol=0.01)
    assert findings["momentum_bias"] == pytest.approx(walkthrough_data.true_b, abs=0.01)
    onp.testing.assert_allclose(findings["equal_step_weight"], walkthrough_data.true_w, atol=0.01)
    assert findings["verdicts"]["recovery"] == "recovers"


def test_the_lesson_has_the_teaching_shape(lesson3):
    assert_teaching_shape("scratch", *lesson3)


def test_after_one_epoch_at_a_tenth_of_the_lr_the_verdict_says_it_misses(tmp_path, walkthrough_data):
    # 100 updates at lr 0.003 shrink the error by about (1 - 0.003)^100 = 0.74: most of the weights'
    # distance from the ~0 start is left, far more than 0.01.
    findings, _ = run_quietly("scratch", tmp_path, lr=0.003, num_epochs=1, compare_steps=1)
    gap = onp.max(onp.abs(onp.append(findings["weight"], findings["bias"])
                          - onp.append(walkthrough_data.true_w, walkthrough_data.true_b)))
    assert gap > 1 and findings["truth_gap"] == pytest.approx(gap, rel=1e-6)
    assert findings["verdicts"]["recovery"] == "misses"


def test_loss_falls_to_but_not_below_least_squares(lesson3, walkthrough_data):
    findings, _ = lesson3
    best = mean_half_squared_error(walkthrough_data.features, walkthrough_data.labels,
                                   *normal_equations(walkthrough_data.features, walkthrough_data.labels))
    assert findings["best_loss"] == pytest.approx(best, rel=1e-9)
    for losses in (findings["epoch_loss"], findings["momentum_epoch_loss"], findings["equal_step_epoch_loss"]):
        assert len(losses) == findings["num_epochs"]
        assert best * (1 - 1e-4) <= losses[-1] < 1.5 * best  # 1e-4: float32 evaluation of the loss
    assert findings["epoch_loss"] == sorted(findings["epoch_loss"], reverse=True)


def test_autograd_and_the_hand_written_updates_agree_with_gluon(lesson3):
    findings, text = lesson3
    assert findings["gradient_gap"] < 1e-6  # float32 sums of 10 products against float64
    assert findings["compare_steps"] >= 20
    assert findings["max_gap_sgd"] < TOLERANCE and findings["max_gap_momentum"] < TOLERANCE
    assert findings["verdicts"]["scratch_vs_gluon"] == findings["verdicts"]["gradient"] == "agrees"
    check_figures(findings, ["scratch_loss"])
    check_json(findings)


def test_the_momentum_race_names_the_effective_step_and_follows_theory(lesson3, walkthrough_data):
    findings, text = lesson3
    lr, momentum = findings["lr"], findings["momentum"]
    assert findings["effective_lr"] == pytest.approx(lr / (1 - momentum))
    assert findings["equal_step_lr"] == pytest.approx(lr * (1 - momentum))
    # Heavy ball on a quadratic: per curvature a the step matrix has characteristic polynomial
    # z² − (1 + λ − ηa)z + λ; when ηa > (1 − √λ)² its roots are complex with modulus √λ. Plain SGD's
    # factor is max |1 − ηa|. Curvatures: eigenvalues of X̃ᵀX̃/n, computed here.
    design = onp.hstack([walkthrough_data.features.astype(onp.float64), onp.ones((1000, 1))])
    curvatures = onp.linalg.eigvalsh(design.T @ design / 1000)
    onp.testing.assert_allclose(findings["curvatures"], curvatures, rtol=1e-9)
    rates = findings["theory_rates"]
    for step in (lr, findings["equal_step_lr"]):
        assert step * curvatures.min() > (1 - math.sqrt(momentum)) ** 2
        assert rates["momentum %g, lr %g" % (momentum, step)] == pytest.approx(math.sqrt(momentum), rel=1e-9)
    assert rates["sgd"] == pytest.approx(onp.max(onp.abs(1 - lr * curvatures)), rel=1e-12)
    ratios = findings["epoch1_loss_ratios"]
    assert ratios["same lr"]["measured"] == pytest.approx(findings["momentum_epoch_loss"][0] / findings["epoch_loss"][0])
    assert ratios["equal step"]["measured"] == pytest.approx(
        findings["equal_step_epoch_loss"][0] / findings["epoch_loss"][0])
    # The verdicts follow the measured and predicted ratios (2x either way counts as a difference).
    for key in ("same lr", "equal step"):
        for kind, prefix in (("measured", "momentum_"), ("predicted", "theory_")):
            ratio = ratios[key][kind]
            word = "lower than" if ratio < 0.5 else "higher than" if ratio > 2 else "about the same as"
            assert findings["verdicts"][prefix + key.replace(" ", "_")] == word
    assert findings["verdicts"]["momentum_same_lr"] == findings["verdicts"]["theory_same_lr"] == "lower than"


def test_without_momentum_the_race_is_a_tie(lesson3, without_momentum):
    # momentum 0: the "momentum" runs make exactly the plain SGD updates, so the verdict must flip
    # from "LOWER than" to "about the same as", and no larger effective step is claimed.
    namespace, text = without_momentum
    findings = namespace["findings"]
    assert findings["momentum_epoch_loss"] == findings["epoch_loss"] == findings["equal_step_epoch_loss"]
    verdicts = findings["verdicts"]
    assert verdicts["momentum_same_lr"] == verdicts["momentum_equal_step"] == "about the same as"
    assert verdicts["theory_same_lr"] == verdicts["theory_equal_step"] == "about the same as"
    assert lesson3[0]["verdicts"]["momentum_same_lr"] == "lower than"


@pytest.mark.parametrize("settings, message", [
    ({"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
    ({"lr": -0.1}, r"lr must be a number in \(0, 10\]"),
    ({"lr": 1e308}, r"lr must be a number in \(0, 10\]"),
    ({"batch_size": 0}, r"batch_size must be an integer in \[1, 1000\]"),
    ({"num_epochs": None}, r"num_epochs must be an integer, got None"),
    ({"compare_steps": 10**12}, r"compare_steps must be an integer in \[1, 10000\]"),
])
def test_settings_are_refused_at_once_with_their_name(settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_quietly("scratch", tmp_path, **settings)


# ---------------------------------------------------------------- the hand-written pieces against Gluon

def fixed_batches(data, batch_size, num_steps, seed=3):
    """Batches cut from fresh NumPy permutations, one per epoch, as MXNet arrays."""
    rng, batches = onp.random.default_rng(seed), []
    while len(batches) < num_steps:
        order = rng.permutation(data.num_examples)
        for start in range(0, data.num_examples, batch_size):
            rows = order[start:start + batch_size]
            batches.append((np.array(data.features[rows]), np.array(data.labels[rows])))
    return batches[:num_steps]


def gluon_model(momentum, seed=0):
    set_seed(seed)  # the starting weights must not depend on which tests ran before
    net = nn.Sequential()
    net.add(nn.Dense(1, in_units=2))
    net.initialize(init.Normal(sigma=0.01))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR, "momentum": momentum})
    return net, trainer


def gluon_weights(net):
    return onp.append(net[0].weight.data().asnumpy().ravel(), net[0].bias.data().asnumpy())


def relative_gap(a, b):
    return onp.max(onp.abs(onp.asarray(a, onp.float64) - b)) / onp.max(onp.abs(b))


@pytest.fixture(scope="module")
def batches(walkthrough_data):
    found = fixed_batches(walkthrough_data, BATCH_SIZE, NUM_STEPS)
    assert sorted({len(X) for X, _ in found}) == [8, 32]  # the partial batch is among them
    return found


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_scratch_and_gluon_agree_after_every_update(scratch, batches, momentum):
    net, trainer = gluon_model(momentum)
    loss = gluon.loss.L2Loss()
    params = scratch.params_from(net[0].weight.data().asnumpy().T, net[0].bias.data().asnumpy())
    start = gluon_weights(net)
    scratch_path = []
    _, _, scratch_losses = scratch.train_scratch(onp.zeros((4, 2)), onp.zeros(4), BATCH_SIZE, LR, momentum, 1,
                                                 params=params, batches=batches, on_step=lambda p: scratch_path.append(scratch.flat_weights(p)))
    assert len(scratch_path) == len(scratch_losses) == NUM_STEPS
    for step, (X, y) in enumerate(batches, start=1):
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(len(X))
        # the same point before the update, the same weights after it
        assert scratch_losses[step - 1] == pytest.approx(float(l.mean()), rel=LOSS_TOLERANCE)
        gap = relative_gap(scratch_path[step - 1], gluon_weights(net))
        assert gap < TOLERANCE, "step %d: relative gap %.2e" % (step, gap)
    assert relative_gap(start, gluon_weights(net)) > 0.5  # the weights did travel: from ~0 to near the truth


def test_the_comparison_would_catch_a_wrong_update(scratch, batches):
    """One update with a wrong 1/B, or with a damped momentum, lands far outside the tolerance."""
    X, y = batches[0]
    for wrong in ("batch size", "damped momentum"):
        net, trainer = gluon_model(0.9)
        params = scratch.params_from(net[0].weight.data().asnumpy().T, net[0].bias.data().asnumpy())
        with autograd.record():
            l = gluon.loss.L2Loss()(net(X), y)
        l.backward()
        trainer.step(len(X))
        with autograd.record():
            scratch_l = scratch.squared_loss(scratch.linreg(X, *params), y)
        scratch_l.backward()
        if wrong == "batch size":
            scratch.sgd_step(params, [np.zeros_like(p) for p in params], LR, 0.9, 2 * len(X))
        else:  # v = λv + (1 − λ)g; w -= lr v: an average of gradients, not MXNet's sum
            for p in params:
                p -= LR * (1 - 0.9) * p.grad / len(X)
        assert relative_gap(scratch.flat_weights(params), gluon_weights(net)) > 100 * TOLERANCE


def test_velocity_is_minus_lr_times_the_discounted_sum_of_past_gradients(scratch, batches):
    """v_k = −η Σᵢ λ^(k−1−i) gᵢ, the lecture's "momentum is a weighted sum of all previous gradients"."""
    momentum, params = 0.9, scratch.params_from([[0.0], [0.0]], [0.0])
    velocities = [np.zeros_like(p) for p in params]
    gradients, travelled = [], onp.zeros(3)
    for X, y in batches[:10]:
        with autograd.record():
            l = scratch.squared_loss(scratch.linreg(X, *params), y)
        l.backward()
        gradients.append(onp.concatenate([p.grad.asnumpy().ravel() for p in params]) / len(X))
        scratch.sgd_step(params, velocities, LR, momentum, len(X))
        travelled += scratch.flat_weights(velocities)
    k = len(gradients)
    expected = -LR * sum(momentum ** (k - 1 - i) * g for i, g in enumerate(gradients))
    onp.testing.assert_allclose(scratch.flat_weights(velocities), expected, rtol=1e-5, atol=1e-7)
    # and w, started at 0, is the sum of all velocities so far
    onp.testing.assert_allclose(scratch.flat_weights(params), travelled, rtol=1e-5, atol=1e-7)
    assert onp.abs(travelled).max() > 0.1


def test_scratch_inputs_are_validated(scratch):
    with pytest.raises(ValueError, match="num_inputs"):
        scratch.init_params(0)
    with pytest.raises(ValueError, match="momentum"):
        scratch.train_scratch(onp.zeros((4, 2)), onp.zeros(4), 2, 0.03, 1.0, 1)
    with pytest.raises(ValueError, match="lr must be"):
        scratch.train_scratch(onp.zeros((4, 2)), onp.zeros(4), 2, -0.1, 0.0, 1)
