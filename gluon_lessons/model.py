"""The walkthrough's model, `Dense(1)` linear regression, its weights, and least squares to compare.

Lesson 4 (`gluon_lessons.lessons.lesson04_gluon`) trains it and checks the weights.
"""
import numpy as onp
from mxnet import gluon, init, npx
from mxnet.gluon import nn

npx.set_np()


def linear_regression(ctx=None, num_inputs=None, sigma=0.01, hybrid=False):
    """`nn.Sequential` holding one `nn.Dense(1)`, initialized with `init.Normal(sigma)` on `ctx`.

    Without `num_inputs` the weight shape is inferred at the first forward pass, as in the walkthrough.
    `hybrid=True` gives `nn.HybridSequential`, which `training.fit` compiles into one graph.
    """
    net = nn.HybridSequential() if hybrid else nn.Sequential()
    net.add(nn.Dense(1, in_units=num_inputs or 0))
    net.initialize(init.Normal(sigma=sigma), ctx=ctx)
    return net


def l2_loss():
    """Half the squared error per example, Gluon's `L2Loss`."""
    return gluon.loss.L2Loss()


def extract_weights(net):
    """`net[0].weight.data()` and `net[0].bias.data()` as a NumPy vector and a float."""
    dense = net[0]
    ctx = dense.weight.list_ctx()[0]
    return dense.weight.data(ctx).asnumpy().ravel().copy(), float(dense.bias.data(ctx).asnumpy()[0])


def least_squares(features, labels):
    """Closed-form fit with a bias column (float64 `lstsq`): the best any trainer can recover."""
    features = onp.asarray(features, dtype=onp.float64)
    design = onp.hstack([features, onp.ones((len(features), 1))])
    solution = onp.linalg.lstsq(design, onp.asarray(labels, dtype=onp.float64).ravel(), rcond=None)[0]
    return solution[:-1], float(solution[-1])


def mean_l2_loss(features, labels, weight, bias):
    """Mean of 1/2 (x.w + b - y)^2 over the data, in float64."""
    residual = onp.asarray(features, onp.float64) @ onp.asarray(weight, onp.float64) + bias - onp.ravel(labels)
    return float(0.5 * onp.mean(residual ** 2))
