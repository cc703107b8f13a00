"""Lesson 4: what `trainer.step(batch_size)` means, and the walkthrough's weights."""

import numpy as onp
from mxnet import autograd, gluon, np, npx

from .. import data, model
from . import _compare, exercise

npx.set_np()


def _one_step(lr, step_size, batch_size=10, seed=3):
    """Weights after one Trainer step on a fixed batch: lr, and the number given to `trainer.step`."""
    rng = onp.random.default_rng(seed)
    X = np.array(rng.normal(size=(batch_size, 2)), dtype="float32")
    y = np.array(rng.normal(size=(batch_size,)), dtype="float32")
    net = model.linear_regression(num_inputs=2)
    net[0].weight.set_data(np.array([[0.5, -0.5]]))
    net[0].bias.set_data(np.array([0.1]))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    with autograd.record():
        loss = model.l2_loss()(net(X), y)
    loss.backward()
    trainer.step(step_size)
    weight, bias = model.extract_weights(net)
    return onp.append(weight, bias)


@exercise(
    4,
    1,
    "trainer.step(1)",
    """The walkthrough trains with lr = 0.03 and
          `trainer.step(batch_size)`, batch_size = 10. With `trainer.step(1)` instead, which
          learning rate makes exactly the same updates? Answer a number.""",
)
def step_one(answer):
    lr = float(_compare.array(answer))
    truth = _one_step(0.03, 10)
    given = _one_step(lr, 1)
    if _compare.close(given, truth, rtol=1e-5):
        return True, (
            "one Trainer step with step(1) at your lr lands on the same weights as step(10) at "
            f"0.03 (largest difference {_compare.worst(given, truth):.1e})"
        )
    if abs(lr - 0.3) < 1e-9:
        return False, "the other way round: step(1) does not divide the summed gradient by 10"
    return (
        False,
        f"with lr={lr:g} and step(1) the weights differ by {_compare.worst(given, truth):.3g} after one step",
    )


@exercise(
    4,
    2,
    "the walkthrough's weights",
    """Train the walkthrough (lesson 4's code) and pass
          `(weight, bias)` read out of the net (`net[0].weight.data()`, `net[0].bias.data()`).""",
)
def walkthrough_weights(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return False, "pass a pair: (weight, bias)"
    weight, bias = _compare.array(answer[0]).ravel(), float(_compare.array(answer[1]).ravel()[0])
    house = data.walkthrough_data()
    ols_w, ols_b = model.least_squares(house.features, house.labels)
    if weight.shape != ols_w.shape:
        return False, f"the weight has one entry per feature ({len(ols_w)}), got {weight.shape}"
    far_w, far_b = onp.abs(weight - ols_w).max(), abs(bias - ols_b)
    if far_w <= 2e-3 and far_b <= 2e-3:
        return True, (
            f"within 2e-3 of least squares on the walkthrough data (w off by {far_w:.1e}, "
            f"b by {far_b:.1e}); the truth is w = {list(house.true_w)}, b = {house.true_b}"
        )
    wrong = {(True, False): "b", (False, True): "w"}.get((far_w <= 2e-3, far_b <= 2e-3), "w and b")
    return False, (
        f"{wrong} more than 2e-3 from least squares (w off by {far_w:.3g}, b by {far_b:.3g}): "
        "train for more epochs, or read the other parameter"
    )
