"""Hessians of a Gluon block's mean loss over its parameters, and what their eigenvalues say about a point.

Lesson 8 (`gluon_lessons.lessons.lesson08_critical_points`) classifies critical points and measures the
minimum ratio with these, many small networks at once (`TanhNetworks`, `RunsLoss`); lesson 9 reads
curvature from `BlockLoss.hvp` and `top_eigenvalue`. MXNet 1.9.1 cannot differentiate a gradient again
for FullyConnected, mul or slice (DESIGN.md), so a Hessian-vector product is a central difference of two
autograd gradients: H v ≈ (g(θ + h v) − g(θ − h v)) / 2h. tanh is smooth, so these differences hold
everywhere; across a ReLU kink they do not.
"""
import dataclasses

import numpy as onp
from mxnet import autograd, init, np, npx
from mxnet.gluon import nn

from . import checks, landscape, recording

npx.set_np()

KINDS = ("minimum", "maximum", "saddle", "degenerate")


def default_step(dtype):
    """h = ε^(1/3) of the parameters' float type: the h that balances rounding (∝ ε/h) against truncation (∝ h²)."""
    return float(onp.finfo(onp.dtype(dtype)).eps ** (1.0 / 3.0))


def difference_step(theta, dtype):
    """The central difference's step h at θ: `default_step(dtype)` times max(1, max|θ|), since θ + h v
    is rounded relative to |θ|."""
    return default_step(dtype) * max(1.0, float(onp.max(onp.abs(theta))))


def _vector(values, size, name):
    values = onp.asarray(values, dtype=onp.float64).ravel()
    if values.shape != (size,) or not onp.all(onp.isfinite(values)):
        raise ValueError("%s must hold %d finite numbers, got shape %s" % (name, size, values.shape))
    return values


class BlockLoss:
    """The mean `loss(net(X), y)` as a function of one flat float64 vector θ of all of `net`'s trained parameters.

    θ joins the parameters in `net.collect_params()` order (for `Dense`: weight row by row, then bias),
    or in the order of `params` if given; a `gluon.Trainer` orders them by name, so record a path in this
    order with `recording.Recorder(trainer, block_loss.params)`. Methods taking `theta` evaluate there and
    put the parameters back. The arithmetic is the parameters' own float type (cast the net to float64
    for small eigenvalues); values, gradients and differences come back as float64.
    """

    def __init__(self, net, loss, X, y, params=None):
        self.net, self.loss = net, loss
        self.params = [p for p in (net.collect_params().values() if params is None else params)
                       if p.grad_req != "null"]
        if not self.params:
            raise ValueError("the net has no trained parameters")
        contexts = self.params[0].list_ctx()
        if len(contexts) != 1 or any(p.list_ctx() != contexts for p in self.params):
            raise ValueError("BlockLoss works on one device; the parameters live on %s" % contexts)
        if any(p.grad_req != "write" for p in self.params):
            raise ValueError("parameters must have grad_req='write'")
        self.ctx, self.dtype = contexts[0], onp.dtype(self.params[0].dtype)
        if any(onp.dtype(p.dtype) != self.dtype for p in self.params):
            raise ValueError("all parameters must share one float type; cast the net first (net.cast('float64'))")
        self.X = np.array(X, dtype=self.dtype, ctx=self.ctx)
        self.y = np.array(y, dtype=self.dtype, ctx=self.ctx)
        if len(self.X) != len(self.y) or len(self.X) == 0:
            raise ValueError("need as many labels as examples (> 0), got %d and %d" % (len(self.X), len(self.y)))
        if isinstance(net, nn.HybridBlock):
            net.hybridize(static_alloc=True, static_shape=True)  # one compiled graph, as `training.fit` does
        self.shapes = [p.shape for p in self.params]
        self.size = sum(int(onp.prod(shape)) for shape in self.shapes)

    def get(self):
        """The current parameters as one float64 vector θ."""
        return recording.flat_values(p.data(self.ctx) for p in self.params)

    def set(self, theta):
        """Write θ into the parameters (rounded to their float type)."""
        theta, start = _vector(theta, self.size, "theta"), 0
        for p, shape in zip(self.params, self.shapes):
            count = int(onp.prod(shape))
            p.data(self.ctx)[:] = theta[start:start + count].reshape(shape)  # in place: ~10x cheaper than set_data
            start += count

    def _value_and_gradient_here(self):
        with autograd.record():
            losses = self.loss(self.net(self.X), self.y)
            mean = losses.mean()
        mean.backward()
        return float(losses.asnumpy().astype(onp.float64).mean()), recording.flat_values(
            p.grad(self.ctx) for p in self.params)

    def _evaluate(self, theta, what):
        if theta is None:
            return what()
        saved = self.get()
        try:
            self.set(theta)
            return what()
        finally:
            self.set(saved)

    def _value_here(self):
        losses = self.loss(self.net(self.X), self.y)
        return float(losses.asnumpy().astype(onp.float64).mean())  # the mean summed in float64

    def value(self, theta=None):
        """L(θ): the mean loss over the data, at θ or at the current parameters."""
        return self._evaluate(theta, self._value_here)

    def values(self, thetas):
        """L at each row of `thetas` (e.g. a recorded path), the parameters put back once at the end."""
        saved, losses = self.get(), []
        try:
            for theta in thetas:
                self.set(theta)
                losses.append(self._value_here())
        finally:
            self.set(saved)
        return onp.array(losses)

    def gradient(self, theta=None):
        """∇L(θ) from autograd, as a float64 vector."""
        return self.value_and_gradient(theta)[1]

    def value_and_gradient(self, theta=None):
        """(L(θ), ∇L(θ)) from one forward and backward pass (lesson 9's sharpness search climbs with it)."""
        return self._evaluate(theta, self._value_and_gradient_here)

    def _difference(self, theta, direction, step):
        """g(θ + h d) − g(θ − h d) and the displacement actually stored (θ rounded to the parameters' type)."""
        plus = (theta + step * direction).astype(self.dtype).astype(onp.float64)
        minus = (theta - step * direction).astype(self.dtype).astype(onp.float64)
        self.set(plus)
        gradient_plus = self._value_and_gradient_here()[1]
        self.set(minus)
        return gradient_plus - self._value_and_gradient_here()[1], plus - minus

    def _step(self, theta, step):
        if step is None:
            return difference_step(theta, self.dtype)
        if not (isinstance(step, (int, float)) and step > 0):
            raise ValueError("step must be a number > 0, got %r" % (step,))
        return float(step)

    def hvp(self, vector, theta=None, step=None):
        """H v by a central difference of autograd gradients along v (step h: `default_step` scaled by max|θ|)."""
        vector = _vector(vector, self.size, "vector")
        norm = float(onp.linalg.norm(vector))
        if norm == 0:
            return onp.zeros(self.size)
        theta = self.get() if theta is None else _vector(theta, self.size, "theta")
        step = self._step(theta, step)

        saved = self.get()
        try:  # the difference writes θ ± h v itself
            difference, _ = self._difference(theta, vector / norm, step)
        finally:
            self.set(saved)
        return difference / (2 * step) * norm

    def hessian(self, theta=None, step=None, symmetrize=True):
        """The full Hessian, one central difference per parameter; `symmetrize=False` keeps the raw columns."""
        theta = self.get() if theta is None else _vector(theta, self.size, "theta")
        step = self._step(theta, step)

        def columns():
            matrix = onp.empty((self.size, self.size))
            for j in range(self.size):
                difference, moved = self._difference(theta, onp.eye(1, self.size, j).ravel(), step)
                matrix[:, j] = difference / moved[j]  # the stored displacement, exact after rounding
            return matrix

        matrix = self._evaluate(theta, columns)
        return (matrix + matrix.T) / 2 if symmetrize else matrix


PARAMETER_NAMES = ("w1", "b1", "w2", "b2")


class TanhNetworks(nn.HybridBlock):
    """`num_runs` networks ŷ = w2·tanh(w1 x + b1) + b2 (input_dim -> hidden_units -> 1) side by side.

    Row k of the parameter `theta`, shape (num_runs, size), is network k's w1 (row by row), b1, w2 and b2:
    the order of `nn.Dense(hidden_units, activation="tanh")` followed by `nn.Dense(1)`. Column k of the
    output is network k's prediction. The runs share no parameter, so the gradient of the sum of their
    losses is each run's own gradient, and one step of gradient descent on the sum is one step of each.
    """

    def __init__(self, num_runs, input_dim, hidden_units):
        super().__init__()
        self.num_runs, self.input_dim, self.hidden_units = num_runs, input_dim, hidden_units
        self.sizes = dict(w1=hidden_units * input_dim, b1=hidden_units, w2=hidden_units, b2=1)
        self.size = sum(self.sizes.values())
        self.theta = self.params.get("theta", shape=(num_runs, self.size), init=init.Zero())

    def named(self, row):
        """One run's parameters by name: {"w1": (hidden_units, input_dim), "b1": ..., "w2": ..., "b2": ...}."""
        row, start, named = _vector(row, self.size, "row"), 0, {}
        shapes = dict(w1=(self.hidden_units, self.input_dim), b1=(self.hidden_units,), w2=(self.hidden_units,),
                      b2=(1,))
        for name in PARAMETER_NAMES:
            named[name] = row[start:start + self.sizes[name]].reshape(shapes[name])
            start += self.sizes[name]
        return named

    def hybrid_forward(self, F, X, theta):
        runs, hidden, inputs = self.num_runs, self.hidden_units, self.input_dim
        w1 = theta[:, :hidden * inputs].reshape(runs, hidden, inputs)
        b1 = theta[:, hidden * inputs:hidden * (inputs + 1)].reshape(runs, hidden, 1)
        w2 = theta[:, hidden * (inputs + 1):hidden * (inputs + 2)].reshape(runs, 1, hidden)
        b2 = theta[:, hidden * (inputs + 2):].reshape(runs, 1, 1)
        activations = F.np.tanh(F.np.matmul(w1, X.T) + b1)  # (runs, hidden_units, examples)
        return (F.np.matmul(w2, activations) + b2).reshape(runs, -1).T  # (examples, runs)


class _DescentSteps(nn.HybridBlock):
    """`num_steps` steps of `FullBatchDescent` as one graph: (θ, X, y[, velocity, momenta]) -> (θ after,
    Σᵢ ∇ℓᵢ there, each run's mean loss before each step and after the last[, velocity after])."""

    def __init__(self, networks, num_steps, step_factor, heavy_ball):
        super().__init__()
        self.shape = networks.num_runs, networks.hidden_units, networks.input_dim  # not the block itself
        self.num_steps, self.step_factor, self.heavy_ball = num_steps, step_factor, heavy_ball

    def hybrid_forward(self, F, theta, X, y, *heavy_ball):
        runs, hidden, inputs = self.shape
        theta, X, y = F.np.copy(theta), F.np.copy(X), F.np.copy(y)  # graph nodes then run batched (DESIGN.md)

        def parts(flat):  # w1, b1, w2, b2 of every run from rows of θ
            return [flat[:, :hidden * inputs].reshape(runs, hidden, inputs),
                    flat[:, hidden * inputs:hidden * (inputs + 1)].reshape(runs, hidden, 1),
                    flat[:, hidden * (inputs + 1):hidden * (inputs + 2)].reshape(runs, 1, hidden),
                    flat[:, hidden * (inputs + 2):].reshape(runs, 1, 1)]

        def joined(tensors):
            return F.np.concatenate([part.reshape(runs, -1) for part in tensors], axis=1)

        X_T, y_row = X.T, y.reshape(1, 1, -1)

        def backpropagation(w1, b1, w2, b2):  # through ŷ = w2·tanh(w1 x + b1) + b2: (Σᵢ ∇ℓᵢ, mean loss)
            activations = F.np.tanh(F.np.matmul(w1, X_T) + b1)  # (runs, hidden_units, examples)
            errors = F.np.matmul(w2, activations) + b2 - y_row  # ∂ℓᵢ/∂ŷᵢ = ŷᵢ − yᵢ, (runs, 1, examples)
            hidden_errors = w2.transpose(0, 2, 1) * errors * (1 - activations * activations)
            return ([F.np.matmul(hidden_errors, X), hidden_errors.sum(axis=2, keepdims=True),
                     F.np.matmul(errors, activations.transpose(0, 2, 1)), errors.sum(axis=2, keepdims=True)],
                    0.5 * (errors * errors).mean(axis=2).reshape(runs))

        weights, losses = parts(theta), []
        if self.heavy_ball:
            moves, momenta = parts(F.np.copy(heavy_ball[0])), F.np.copy(heavy_ball[1]).reshape(runs, 1, 1)
        lr, rescale = self.step_factor
        for _ in range(self.num_steps):
            gradients, loss = backpropagation(*weights)
            losses.append(loss)
            if self.heavy_ball:  # MXNet's sgd with momentum: v = βv − lr·(rescale·g); w = w + v
                moves = [momenta * v - lr * (rescale * g) for v, g in zip(moves, gradients)]
                weights = [w + v for w, v in zip(weights, moves)]
            else:
                weights = [w - lr * (rescale * g) for w, g in zip(weights, gradients)]
        gradients, loss = backpropagation(*weights)
        outputs = [joined(weights), joined(gradients), F.np.stack(losses + [loss])]
        return tuple(outputs + [joined(moves)] if self.heavy_ball else outputs)


class FullBatchDescent:
    """Full-batch gradient descent of every run of a `TanhNetworks`, many steps in one graph call (lesson 8).

    `training.fit` over `recording.full_batches` with `Trainer('sgd')` takes one step per forward pass,
    backward pass and update, about 1 ms each here; thousands of steps then take seconds. Autograd cannot
    run inside a compiled graph, so this writes the gradient out (backpropagation by hand) and compiles
    `num_steps` steps into one graph. Each step is the Trainer's: θ − lr·(rescale·Σᵢ∇ℓᵢ), with lr and
    rescale = 1/examples rounded to float32 as MXNet's `sgd_update` reads them, so the path is
    `training.fit`'s up to float64 rounding (tests/test_lesson08_critical_points.py checks it). `momentum`
    (one β, or one per run) makes it the Trainer's heavy ball; the velocity carries over between calls.
    """

    def __init__(self, networks, X, y, lr, momentum=0.0):
        if not isinstance(networks, TanhNetworks):
            raise ValueError("FullBatchDescent steps the rows of a TanhNetworks block")
        self.networks = networks
        self.X, self.y = np.array(X, dtype="float64"), np.array(onp.ravel(y), dtype="float64")
        if self.X.shape != (len(self.y), networks.input_dim) or len(self.y) == 0:
            raise ValueError("X must be (examples, %d) with one label per example, got %s and %d labels"
                             % (networks.input_dim, self.X.shape, len(self.y)))
        momenta = onp.broadcast_to(onp.asarray(momentum, dtype=onp.float64), (networks.num_runs,))
        if not onp.all((momenta >= 0) & (momenta < 1)):
            raise ValueError("momentum must be in [0, 1), one value or one per run, got %r" % (momentum,))
        self.momenta = np.array(momenta.astype(onp.float32), dtype="float64")  # as the Trainer rounds it
        self.heavy_ball = bool(onp.any(momenta > 0))
        self.step_factor = (float(onp.float32(lr)), float(onp.float32(1.0 / len(self.y))))
        self.velocity = np.zeros((networks.num_runs, networks.size), dtype="float64")
        self.graphs = {}

    def __call__(self, theta, num_steps):
        """(θ after `num_steps` steps from `theta`, each run's gradient of its mean loss there, each run's
        mean loss before every step and after the last: (num_steps + 1, runs)), float64."""
        if num_steps not in self.graphs:
            num_steps = checks.integer("num_steps", num_steps, 1)
            graph = _DescentSteps(self.networks, num_steps, self.step_factor, self.heavy_ball)
            graph.hybridize(static_alloc=True, static_shape=True)
            self.graphs[num_steps] = graph
        shape = (self.networks.num_runs, self.networks.size)
        theta = np.array(_vector(theta, shape[0] * shape[1], "theta").reshape(shape), dtype="float64")
        state = (self.velocity, self.momenta) if self.heavy_ball else ()
        after, gradients, losses, *velocity = self.graphs[num_steps](theta, self.X, self.y, *state)
        self.velocity = velocity[0] if velocity else self.velocity
        return after.asnumpy(), gradients.asnumpy() / len(self.y), losses.asnumpy()


def sum_of_l2_losses(predictions, y):
    """Per example, ½(ŷ_k − y)² summed over the runs k: its mean over the examples is Σ_k L_k."""
    return 0.5 * ((predictions - y.reshape(-1, 1)) ** 2).sum(axis=1)


class RunsLoss(BlockLoss):
    """A `BlockLoss` of `TanhNetworks` under `sum_of_l2_losses`, read run by run (rows of θ).

    The Hessian of the sum is block-diagonal, one block per run; so `run_hessians` reads every run's Hessian
    from the gradients of copies of the runs, each moved along one coordinate, all side by side.
    """

    def __init__(self, networks, X, y):
        if not isinstance(networks, TanhNetworks):
            raise ValueError("RunsLoss reads the rows of a TanhNetworks block")
        super().__init__(networks, sum_of_l2_losses, X, y)
        self.num_runs, self.run_size = networks.num_runs, networks.size

    def _rows(self, thetas):
        if thetas is None:
            return self.get()
        return _vector(thetas, self.size, "thetas")

    def run_values(self, thetas=None):
        """Each run's mean ½(ŷ − y)² over the data, at `thetas` (rows) or at the current parameters."""
        def values():
            errors = self.net(self.X) - self.y.reshape(-1, 1)
            return (0.5 * errors ** 2).mean(axis=0).asnumpy().astype(onp.float64)

        return self._evaluate(None if thetas is None else self._rows(thetas), values)

    def run_gradients(self, thetas=None):
        """Each run's gradient, one row per run."""
        return self.gradient(None if thetas is None else self._rows(thetas)).reshape(self.num_runs, self.run_size)

    def run_hessians(self, thetas=None, symmetrize=True):
        """Each run's Hessian, shape (runs, size, size), by central differences (h as in `BlockLoss.hessian`,
        per run). The 2·size moved copies of every run sit side by side in a wider `TanhNetworks`, so one
        gradient pass per `WIDE_ROWS` copies gives every column of every run."""
        rows = self._rows(thetas).reshape(self.num_runs, self.run_size)
        size = self.run_size
        steps = default_step(self.dtype) * onp.maximum(1.0, onp.abs(rows).max(axis=1))
        moves = steps[:, None, None] * onp.eye(size)  # [run, j]: that run moved along coordinate j
        points = onp.concatenate([rows[:, None] + moves, rows[:, None] - moves], axis=1)
        points = points.astype(self.dtype).astype(onp.float64)  # as the parameters hold them
        gradients = self._gradients_at(points.reshape(-1, size)).reshape(points.shape)
        moved = onp.diagonal(points[:, :size] - points[:, size:], axis1=1, axis2=2)  # exact after rounding
        matrices = ((gradients[:, :size] - gradients[:, size:]) / moved[:, :, None]).transpose(0, 2, 1)
        return (matrices + matrices.transpose(0, 2, 1)) / 2 if symmetrize else matrices

    WIDE_ROWS = 256  # networks per gradient pass of `run_hessians`: its arrays stay a few MB each

    def _gradients_at(self, points):
        """The gradient of one network's mean loss at each row of `points`, `WIDE_ROWS` rows at a time."""
        width = min(len(points), self.WIDE_ROWS)
        if getattr(self, "_wide", None) is None or self._wide.num_runs != width:
            networks = TanhNetworks(width, self.net.input_dim, self.net.hidden_units)
            networks.initialize(ctx=self.ctx)
            networks.cast(self.dtype)
            self._wide = RunsLoss(networks, self.X.asnumpy(), self.y.asnumpy())
        gradients = onp.empty_like(points)
        for start in range(0, len(points), width):
            chunk = points[start:start + width]
            filled = onp.concatenate([chunk, points[:width - len(chunk)]])  # the last pass filled up
            gradients[start:start + len(chunk)] = self._wide.run_gradients(filled)[:len(chunk)]
        return gradients


def of_function(loss_of, point, dtype="float64", ctx=None):
    """A `BlockLoss` of a plain function of a vector, L = `loss_of(w)`, through `landscape.PositionLoss`."""
    net = landscape.PositionLoss(loss_of, point, dtype)
    net.initialize(ctx=ctx)
    X, y = landscape.position_batches(1, dtype, ctx)[0]
    return BlockLoss(net, landscape.position_loss_value, X, y)


def asymmetry(matrix):
    """max |H − Hᵀ| / 2 of a raw finite-difference Hessian: a measure of its numerical error."""
    matrix = onp.asarray(matrix, dtype=onp.float64)
    return float(onp.max(onp.abs(matrix - matrix.T)) / 2)


def _tolerance(tol):
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError("tol must be a number >= 0, got %r" % (tol,))
    return float(tol)


def sign_counts(eigenvalues, tol):
    """(negative, zero, positive) counts, where |λ| <= tol counts as zero."""
    values, tol = onp.ravel(eigenvalues).astype(onp.float64), _tolerance(tol)
    return int(onp.sum(values < -tol)), int(onp.sum(onp.abs(values) <= tol)), int(onp.sum(values > tol))


def classify(eigenvalues, tol):
    """'minimum' (all λ > tol), 'maximum' (all λ < −tol), 'saddle' (both signs), else 'degenerate' (|λ| <= tol)."""
    negative, zero, positive = sign_counts(eigenvalues, tol)
    if negative and positive:
        return "saddle"  # one way down and one way up, whatever the zero eigenvalues do
    if zero or not (negative or positive):
        return "degenerate"  # the second-order test cannot tell; higher-order terms decide
    return "minimum" if positive else "maximum"


def minimum_ratio(eigenvalues, tol):
    """The lecture's minimum ratio: the share of eigenvalues > tol (1 at a strict local minimum)."""
    values = onp.ravel(eigenvalues)
    if values.size == 0:
        raise ValueError("need at least one eigenvalue")
    return sign_counts(values, tol)[2] / values.size


@dataclasses.dataclass
class PointReport:
    """The Hessian's eigen-analysis at a point: eigenvalues (ascending), eigenvectors (columns), the zero tolerance."""

    eigenvalues: onp.ndarray
    eigenvectors: onp.ndarray
    tol: float

    @property
    def kind(self):
        return classify(self.eigenvalues, self.tol)

    @property
    def counts(self):
        return sign_counts(self.eigenvalues, self.tol)

    @property
    def minimum_ratio(self):
        return minimum_ratio(self.eigenvalues, self.tol)

    @property
    def escape_direction(self):
        """The unit eigenvector of the most negative eigenvalue (None if no λ < −tol); −u is one too."""
        return self.eigenvectors[:, 0].copy() if self.eigenvalues[0] < -self.tol else None

    def newton_step(self, gradient):
        """−H⁺g over the eigenvalues with |λ| > tol: where the quadratic model's gradient vanishes (its length
        estimates how far the nearest critical point is)."""
        gradient = _vector(gradient, len(self.eigenvalues), "gradient")
        keep = onp.abs(self.eigenvalues) > self.tol
        vectors = self.eigenvectors[:, keep]
        return -vectors @ ((vectors.T @ gradient) / self.eigenvalues[keep])


def examine(matrix, tol):
    """Eigen-decompose a symmetric Hessian into a `PointReport` (|λ| <= tol counts as zero)."""
    matrix = onp.asarray(matrix, dtype=onp.float64)
    landscape.eigenvalues(matrix)  # ValueError unless square and symmetric
    values, vectors = onp.linalg.eigh(matrix)
    return PointReport(values, vectors, _tolerance(tol))


def find_critical_point(block_loss, theta=None, tol=1e-8, grad_tol=1e-10, max_iterations=50, max_step=1.0,
                        max_halvings=30, min_progress=1.0):
    """Newton's method on ∇L = 0 from θ: steps −H⁺g (|λ| <= tol left out), at most `max_step` long, halved
    until ‖∇L‖ falls. It heads for the nearby critical point of any kind, saddles included. It stops once
    ‖∇L‖ < grad_tol, after `max_iterations`, when no halving lowers ‖∇L‖, or when an iteration leaves ‖∇L‖
    above `min_progress` times what it was (stagnation; 1.0: any decrease goes on).
    Returns (θ, [‖∇L‖ at the start and after each iteration])."""
    theta = block_loss.get() if theta is None else _vector(theta, block_loss.size, "theta")
    thetas, norms = newton(lambda rows: block_loss.gradient(rows[0])[None],
                           lambda rows: block_loss.hessian(rows[0])[None], theta[None], tol, grad_tol,
                           max_iterations, max_step, max_halvings, min_progress)
    return thetas[0], norms[0]


def newton(gradients, hessians, thetas, tol=1e-8, grad_tol=1e-10, max_iterations=50, max_step=1.0,
           max_halvings=30, min_progress=1.0):
    """`find_critical_point` for each row of `thetas` at once, the rows being independent runs:
    `gradients(rows)` gives one gradient per row, `hessians(rows)` one Hessian per row (`RunsLoss`'s
    `run_gradients` and `run_hessians`). Returns (rows, one list of ‖∇L‖ per row)."""
    if not (isinstance(max_step, (int, float)) and max_step > 0):
        raise ValueError("max_step must be a number > 0, got %r" % (max_step,))
    if not (isinstance(min_progress, (int, float)) and 0 < min_progress <= 1):
        raise ValueError("min_progress must be a number in (0, 1], got %r" % (min_progress,))
    thetas = onp.array(thetas, dtype=onp.float64)
    current = gradients(thetas)
    norms = [[float(value)] for value in onp.linalg.norm(current, axis=1)]
    going = onp.array([row[-1] >= grad_tol for row in norms])
    for _ in range(max_iterations):
        if not going.any():
            break
        steps = onp.zeros_like(thetas)
        for k, matrix in zip(onp.flatnonzero(going), hessians(thetas)[going]):
            step = examine(matrix, tol).newton_step(current[k])
            steps[k] = step * min(1.0, max_step / max(float(onp.linalg.norm(step)), 1e-300))
        moved = onp.zeros(len(thetas), dtype=bool)
        for _ in range(max_halvings):  # halve each run's step until its ‖∇L‖ falls
            trying = going & ~moved
            if not trying.any():
                break
            trial = thetas + steps * trying[:, None]
            trial_gradients = gradients(trial)
            lower = trying & (onp.linalg.norm(trial_gradients, axis=1) < [row[-1] for row in norms])
            thetas[lower], current[lower], moved = trial[lower], trial_gradients[lower], moved | lower
            steps[trying & ~lower] /= 2
        for k in onp.flatnonzero(going):
            if not moved[k]:  # no step along −H⁺g lowers ‖∇L‖: the quadratic model does not help here
                going[k] = False
                continue
            norms[k].append(float(onp.linalg.norm(current[k])))
            going[k] = norms[k][-1] >= grad_tol and norms[k][-1] <= min_progress * norms[k][-2]
    return thetas, norms


def top_eigenvalue(hvp, size, num_iterations=200, rtol=1e-6, seed=0):
    """Power iteration on `hvp(v)`: (λ, unit v) of the eigenvalue largest in magnitude (the largest at a minimum)."""
    def products(runs, vectors):
        return _vector(hvp(vectors[0]), size, "hvp(v)")[None]

    return top_eigenvalues(products, size, [seed], num_iterations, rtol)[0]


def top_eigenvalues(hvps, size, seeds, num_iterations=200, rtol=1e-6):
    """`top_eigenvalue` of several Hessians at once, one per seed (lesson 9: one per trained network).
    `hvps(runs, vectors)` gives H_r v for each run index r in `runs` and row v of `vectors`, so the
    products of all runs still iterating can come from one pass; each run starts from its own seed's
    random vector and stops by itself, exactly as `top_eigenvalue` would. Returns [(λ, unit v)]."""
    if isinstance(size, bool) or not isinstance(size, (int, onp.integer)) or size < 1:
        raise ValueError("size must be an integer >= 1, got %r" % (size,))
    if isinstance(num_iterations, bool) or not isinstance(num_iterations, (int, onp.integer)) or num_iterations < 1:
        raise ValueError("num_iterations must be an integer >= 1, got %r" % (num_iterations,))
    vectors = [onp.random.default_rng(seed).standard_normal(size) for seed in seeds]
    vectors = onp.array([vector / onp.linalg.norm(vector) for vector in vectors])
    values, going = onp.zeros(len(seeds)), list(range(len(seeds)))
    for _ in range(num_iterations):
        if not going:
            break
        products = onp.asarray(hvps(going, vectors[going]), dtype=onp.float64)
        if products.shape != (len(going), size) or not onp.all(onp.isfinite(products)):
            raise ValueError("hvps must give %d rows of %d finite numbers, got shape %s"
                             % (len(going), size, products.shape))
        still = []
        for run, product in zip(going, products):
            previous, values[run] = values[run], float(vectors[run] @ product)  # Rayleigh quotient
            norm = float(onp.linalg.norm(product))
            if norm == 0:
                values[run] = 0.0
                continue
            vectors[run] = product / norm
            if abs(values[run] - previous) > rtol * abs(values[run]):
                still.append(run)
        going = still
    return [(float(value), vector) for value, vector in zip(values, vectors)]
