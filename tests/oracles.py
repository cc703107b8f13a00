"""Truths the tests share, written in float64 NumPy and independent of MXNet.

The lecture's loss L(w1, w2) = (1 − w1·w2)², its gradient and Hessian; a one-hidden-layer tanh
network ŷ = W2 tanh(W1 x + b1) + b2 under the mean ½(ŷ − y)², with θ in Gluon's order [W1 row by
row, b1, W2, b2]: its loss, its gradient written out, and its Hessian by the complex step
(Im g(θ + i·h·e_j) / h: no subtraction, so exact to float64 rounding); Spearman's rank correlation
from ranks.
"""
import numpy as onp


def lecture_gradient(w1, w2):
    return onp.array([-2 * w2 * (1 - w1 * w2), -2 * w1 * (1 - w1 * w2)])


def lecture_hessian(w1, w2):
    return onp.array([[2 * w2 ** 2, 4 * w1 * w2 - 2], [4 * w1 * w2 - 2, 2 * w1 ** 2]])


def mlp_parts(theta, input_dim, hidden):
    d = input_dim
    return (theta[:hidden * d].reshape(hidden, d), theta[hidden * d:hidden * (d + 1)],
            theta[hidden * (d + 1):hidden * (d + 2)], theta[hidden * (d + 2)])


def mlp_loss(theta, X, y, hidden):
    """Mean ½(ŷ − y)² of ŷ = W2 tanh(W1 x + b1) + b2."""
    W1, b1, W2, b2 = mlp_parts(theta, X.shape[1], hidden)
    return 0.5 * onp.mean((onp.tanh(X @ W1.T + b1) @ W2 + b2 - y) ** 2)


def mlp_gradient(theta, X, y, hidden):
    """∇ of mean ½(ŷ − y)², written out (works for complex θ too)."""
    W1, b1, W2, b2 = mlp_parts(theta, X.shape[1], hidden)
    a = onp.tanh(X @ W1.T + b1)  # (n, hidden)
    r = (a @ W2 + b2 - y) / len(X)  # dL/dŷ per example
    delta = onp.outer(r, W2) * (1 - a * a)  # dL/d(pre-activation)
    return onp.concatenate([(delta.T @ X).ravel(), delta.sum(0), a.T @ r, [r.sum()]])


def complex_step_hessian(theta, X, y, hidden, h=1e-30):
    columns = []
    for j in range(len(theta)):
        shifted = onp.asarray(theta, dtype=complex)
        shifted[j] += 1j * h
        columns.append(mlp_gradient(shifted, X, y, hidden).imag / h)
    return onp.array(columns).T


def spearman(a, b):
    """Pearson's correlation of the ranks (no ties expected)."""
    ranks_a = onp.argsort(onp.argsort(a)).astype(float)
    ranks_b = onp.argsort(onp.argsort(b)).astype(float)
    return float(onp.corrcoef(ranks_a, ranks_b)[0, 1])
