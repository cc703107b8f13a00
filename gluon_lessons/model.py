"""The walkthrough's model, `Dense(1)` linear regression, its weights, and least squares to compare.

Lesson 4 (`gluon_lessons.lessons.lesson04_gluon`) trains it and checks the weights.
"""
import numpy as onp
from mxnet import gluon, init, npx
from mxnet.gluon import nn

npx.set_np()


def linear_regression(ctx=None, num_inputs=None, sigma=0.01, hybrid=True):
    """`nn.HybridSequential` holding one `nn.Dense(1)`, initialized with `init.Normal(sigma)` on `ctx`.

    Without `num_inputs` the weight shape is inferred at the first forward pass, as in the walkthrough.
    `training.fit` compiles it with its loss into one graph (`hybridize`). `hybrid=False` gives the
    walkthrough's plain `nn.Sequential`, for loops that are not hybridized: hybridizing a plain
    `Sequential` makes MXNet warn "Consider using HybridSequential".
    d2l's `LinearRegression` (MXNet) is the same `Dense(1)` with the same initializer (lesson 4).
    """
    net = nn.HybridSequential() if hybrid else nn.Sequential()
    net.add(nn.Dense(1, in_units=num_inputs or 0))
    net.initialize(init.Normal(sigma=sigma), ctx=ctx)
    return net


def l2_loss():
    """Half the squared error per example, Gluon's `L2Loss`; d2l's `squared_loss` by hand (lesson 3)."""
    return gluon.loss.L2Loss()


def extract_weights(net):
    """`net[0].weight.data()` and `net[0].bias.data()` as a NumPy vector and a float."""
    dense = net[0]
    ctx = dense.weight.list_ctx()[0]
    return dense.weight.data(ctx).asnumpy().ravel().copy(), float(dense.bias.data(ctx).asnumpy()[0])


ROWS_PER_BLOCK = 65536  # least squares and the loss read the data a block at a time: no float64 copy of it all


def least_squares(features, labels):
    """Closed-form fit with a bias column (float64 `lstsq`): the best any trainer can recover.

    Large data are reduced block by block to the R factor of a QR decomposition of [X, 1, y], whose
    small triangular system has the same least-squares solution, so no float64 copy of X is made.
    """
    features, labels = onp.asarray(features), onp.ravel(labels)
    if len(features) <= ROWS_PER_BLOCK:
        design = onp.hstack([features.astype(onp.float64), onp.ones((len(features), 1))])
        solution = onp.linalg.lstsq(design, labels.astype(onp.float64), rcond=None)[0]
        return solution[:-1], float(solution[-1])
    width = features.shape[1] + 1
    reduced = onp.zeros((0, width + 1))
    for start in range(0, len(features), ROWS_PER_BLOCK):
        rows = features[start:start + ROWS_PER_BLOCK]
        block = onp.hstack([rows.astype(onp.float64), onp.ones((len(rows), 1)),
                            labels[start:start + len(rows), None].astype(onp.float64)])
        reduced = onp.linalg.qr(onp.vstack([reduced, block]), mode="r")
    solution = onp.linalg.lstsq(reduced[:width, :width], reduced[:width, width], rcond=None)[0]
    return solution[:-1], float(solution[-1])


def mean_l2_loss(features, labels, weight, bias):
    """Mean of 1/2 (x.w + b - y)^2 over the data, in float64 (a block of rows at a time)."""
    features, labels = onp.asarray(features), onp.ravel(labels)
    weight, total = onp.asarray(weight, onp.float64), 0.0
    for start in range(0, len(features), ROWS_PER_BLOCK):
        rows = features[start:start + ROWS_PER_BLOCK]
        residual = rows.astype(onp.float64) @ weight + bias - labels[start:start + len(rows)]
        total += float(onp.sum(residual ** 2))
    return 0.5 * total / len(features)
