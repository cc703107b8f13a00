"""A fast path for `Dense(1)` + `L2Loss`, sgd or nag: many updates compiled into one MXNet graph.

The same updates as `training.fit` with a `Trainer` up to float32 rounding (tested), chosen
explicitly by the callers that want speed: `gluon-lessons train`, lesson 6's timings, lesson 7's
sweeps (`noise`), `benchmarks/`. It keeps its own momentum state and needs no `Trainer`.

Where the time goes at small batches is dispatch, not arithmetic (one MXNet op costs tens of µs, the
arithmetic of a 10-example step well under one), so the graph is written to keep MXNet's engine out
of the way: the graph's inputs are copied once at its top (a node reading an input is pushed to the
engine on its own, the others run together), the momentum is a constant of the graph, 1/B is folded
into the learning rate, and each epoch's shuffle is gathered inside the graph from the rows of the
data. On large data the work around the graphs counts too: `fit_linear` reads the full-data losses
from the device copy the batches hold (`_holds_the_examples`), and NumPy draws the next epoch's
order while MXNet works on this one's graphs (`_Orders`).
"""
import functools
import time

import mxnet as mx
import numpy as onp
from mxnet import np, npx
from mxnet.gluon import nn

from . import checks, loading, model, training

npx.set_np()

STEPS_PER_GRAPH = 50  # updates compiled into one graph (about 0.05 s to build one)
# Above this many numbers per batch (B x features) FullyConnected's own backward beats the fused
# graph's hand-written gradient per example (measured on CPU in lesson 6): `fused_suits` says which
# is faster.
FUSED_MAX_BATCH_NUMBERS = 250_000
# Graph calls MXNet may queue ahead of the finished ones. Its queue has no bound: unbounded, an
# epoch of 400,000 updates held 1.4 GB of pending work. 8 calls (400 updates) keep the engine as
# busy as more do.
MAX_GRAPHS_QUEUED = 8
# With at most this many features the steps of a graph are composed as matrix products (`_Scan`), up
# to SCAN_STEPS_PER_GRAPH of them in one graph; with more, written out one after the other
# (`_Steps`).
SCAN_MAX_FEATURES = 4
SCAN_STEPS_PER_GRAPH = 128
# Up to this many numbers per step (runs x B x (d + 2)) the steps are written out on rows [x, 1, y]
# (`_Table`); above, an operation's cost matters less than the copies that laying out these rows
# takes (`_Steps`).
TABLE_MAX_NUMBERS = 2048
OPTIMIZERS = ("sgd", "nag")
DRAW_AHEAD_MIN = 65_536  # examples from which an epoch's order is drawn during the epoch before


class _Steps(nn.HybridBlock):
    """`num_steps` SGD or NAG updates of `runs` independent `Dense(1)` models (`L2Loss`), one graph.

    Weights are (runs, d, 1), biases (runs, 1, 1), and so are their momentum states; `lrs` holds
    each step's learning rate already divided by the batch size. With `gather`, X and y are the
    whole data and `rows` (num_steps * batch_size, runs) the row of each example in visiting order;
    without, X and y are the rows themselves, in order, for one run. Returns each batch's mean loss
    before its update (runs, num_steps), the new weights, biases and states, with `record` the
    weights and biases after every step, (runs, num_steps, d, 1) and (runs, num_steps, 1, 1), and
    with `evaluate` (one run, X and y the whole data) the mean loss on all of them after the last
    step.
    """

    def __init__(self, runs, num_steps, batch_size, num_features, momentum, nesterov, record,
                 gather, evaluate=False):
        super().__init__()
        self.runs, self.num_steps = runs, num_steps
        self.batch_size, self.num_features = batch_size, num_features
        self.momentum, self.nesterov, self.record, self.gather = momentum, nesterov, record, gather
        self.evaluate = evaluate

    def hybrid_forward(self, F, X, y, *inputs):
        outputs = self.steps(F, X, y, *inputs)
        if self.evaluate:  # the mean loss on all of (X, y) after the last step: no call of its own
            outputs += (_mean_loss(F, X, y, outputs[1], outputs[2]),)
        return outputs

    def steps(self, F, X, y, *inputs):
        runs, n, B, d = self.runs, self.num_steps, self.batch_size, self.num_features
        beta = self.momentum
        if self.gather:
            rows, inputs = F.np.transpose(inputs[0]), inputs[1:]  # (runs, n * B)
            # (runs, n * B, d) and (runs, n * B)
            X, y = F.np.take(X, rows, axis=0), F.np.take(y, rows, axis=0)
        X, y = F.np.reshape(X, (runs, n * B, d)), F.np.reshape(y, (runs, n * B, 1))
        # A node that reads a graph input is pushed to MXNet's engine alone (3-4 µs); after these
        # copies the nodes below run as one engine operation (under 1 µs each).
        weight, bias, weight_state, bias_state, lrs = (F.np.copy(a) for a in inputs)
        ones = F.np.ones((runs, B, 1))  # Σr as a product: MXNet's sum is slower than a dot product
        residuals, weights, biases = [], [], []
        for k, lr in enumerate(_split(F, lrs, n)):  # (a slice each for the batches: see `_split`)
            X_k, y_k = _part(F, X, 1, k * B, (k + 1) * B), _part(F, y, 1, k * B, (k + 1) * B)
            residual = F.npx.batch_dot(X_k, weight) + bias - y_k  # (runs, B, 1) = dL2Loss/dy_hat
            residuals.append(residual)
            # (runs, d, 1): lr/B times the gradient's sum over the batch
            step_w = lr * F.npx.batch_dot(X_k, residual, transpose_a=True)
            step_b = lr * F.npx.batch_dot(ones, residual, transpose_a=True)
            if beta == 0:  # sgd and nag without momentum: w = w - lr g, as MXNet's sgd_update
                weight, bias = weight - step_w, bias - step_b
            else:  # v = momentum v - lr g, as MXNet keeps it
                weight_state, bias_state = weight_state * beta - step_w, bias_state * beta - step_b
                if self.nesterov:  # MXNet's nag_mom_update: w = w + momentum v - lr g
                    weight = weight + weight_state * beta - step_w
                    bias = bias + bias_state * beta - step_b
                else:  # MXNet's sgd_mom_update: w = w + v
                    weight, bias = weight + weight_state, bias + bias_state
            if self.record:
                weights.append(weight)
                biases.append(bias)
        squared = F.np.square(F.np.stack(residuals, axis=1))  # (runs, n, B, 1)
        outputs = [0.5 * F.np.mean(squared, axis=(2, 3)), weight, bias, weight_state, bias_state]
        if self.record:
            outputs += [F.np.stack(weights, axis=1), F.np.stack(biases, axis=1)]
        return tuple(outputs)


class _Table(_Steps):
    """The same updates, inputs and outputs as `_Steps`, for small batches, where each MXNet
    operation's cost (about a microsecond) outweighs its arithmetic: a step sees its batch as rows
    [x, 1, y] and the parameters as θ = [w, b, -1], so that one product gives the residuals
    x·w + b - y and one more the gradient (its last entry, y·r, gets a step size of 0, which keeps
    the -1). Five operations a step instead of thirteen; the rows are laid out once per graph (a
    concatenation per step is slow).
    """

    def steps(self, F, X, y, *inputs):
        runs, n, B, d = self.runs, self.num_steps, self.batch_size, self.num_features
        beta = self.momentum
        rows, inputs = (inputs[0], inputs[1:]) if self.gather else (None, inputs)
        # A node that reads a graph input is pushed to MXNet's engine alone (3-4 µs); after these
        # copies the nodes below run as one engine operation (under 1 µs each).
        weight, bias, weight_state, bias_state, lrs = (F.np.copy(a) for a in inputs)
        # (runs, d + 2, 1)
        theta = F.np.concatenate([weight, bias, -F.np.ones((runs, 1, 1))], axis=1)
        velocity = F.np.concatenate([weight_state, bias_state, F.np.zeros((runs, 1, 1))], axis=1)
        # each step's size per entry of θ: lr/B for w and b, 0 for the -1
        keep = F.np.concatenate([F.np.ones((1, d + 1, 1)), F.np.zeros((1, 1, 1))], axis=1)
        sizes = _split(F, F.np.reshape(lrs, (n, 1, 1)) * keep, n)  # n times (1, d + 2, 1)
        residuals, thetas = [], []
        for k, table in enumerate(_tables(F, X, y, rows, runs, n, B, d)):
            residual = F.npx.batch_dot(table, theta)  # (runs, B, 1) = x·w + b - y = dL2Loss/dy_hat
            residuals.append(residual)
            # (runs, d + 2, 1), summed over the batch
            gradient = F.npx.batch_dot(table, residual, transpose_a=True)
            step = sizes[k] * gradient
            if beta == 0:  # sgd and nag without momentum: w = w - lr g, as MXNet's sgd_update
                theta = theta - step
            else:  # v = momentum v - lr g, as MXNet keeps it
                velocity = velocity * beta - step
                if self.nesterov:  # MXNet's nag_mom_update: w = w + momentum v - lr g
                    theta = theta + velocity * beta - step
                else:  # MXNet's sgd_mom_update: w = w + v
                    theta = theta + velocity
            if self.record:
                thetas.append(theta)
        squared = F.np.square(F.np.stack(residuals, axis=1))  # (runs, n, B, 1)
        outputs = [0.5 * F.np.mean(squared, axis=(2, 3)),
                   _part(F, theta, 1, 0, d), _part(F, theta, 1, d, d + 1)]
        if beta:
            outputs += [_part(F, velocity, 1, 0, d), _part(F, velocity, 1, d, d + 1)]
        else:  # MXNet keeps no state without momentum: the states stay as they came
            outputs += [weight_state, bias_state]
        if self.record:
            path = F.np.stack(thetas, axis=1)  # (runs, n, d + 2, 1)
            outputs += [_part(F, path, 2, 0, d), _part(F, path, 2, d, d + 1)]
        return tuple(outputs)


def _tables(F, X, y, rows, runs, num_steps, batch_size, num_features):
    """Each step's batch as rows [x, 1, y], (runs, B, d + 2): the rows `rows` names (num_steps * B,
    runs) of the data X, y, or without `rows` the rows of X, y in turn; laid out for all steps at
    once."""
    n, B, d = num_steps, batch_size, num_features

    def table(X_part, y_part, count):
        return F.np.concatenate([F.np.reshape(X_part, (runs, count, d)),
                                 F.np.ones((runs, count, 1)),
                                 F.np.reshape(y_part, (runs, count, 1))], axis=2)

    if rows is not None:
        rows = F.np.transpose(rows)  # (runs, n * B)
    if rows is not None:
        X, y = F.np.take(X, rows, axis=0), F.np.take(y, rows, axis=0)
    whole = table(X, y, n * B)
    return [_part(F, whole, 1, k * B, (k + 1) * B) for k in range(n)]


class _Scan(_Steps):
    """The same updates, inputs and outputs as `_Steps`, for few features: each step is an affine
    map of z = [w, b, v_w, v_b, 1], so the maps of all `num_steps` steps are built at once and
    composed by a scan (log2(num_steps) rounds of batched matrix products) instead of one step after
    the other.

    The step with batch X̃ = [X, 1] (B rows), G = X̃ᵀX̃ and h = X̃ᵀy, and c = lr/B, is for sgd θ' =
    (I - cG)θ + βv + ch, v' = -cGθ + βv + ch, and for nag θ' = (I - (1+β)cG)θ + β²v + (1+β)ch: a
    (2p+1)-square matrix per step, p = d + 1. Worth it while the matrices are small: the products
    cost about 2(2d+3)³·log2(num_steps) operations per step against the 4Bd of a plain step.
    """

    def steps(self, F, X, y, *inputs):
        runs, n, B, d = self.runs, self.num_steps, self.batch_size, self.num_features
        beta = self.momentum
        p, m, many = d + 1, 2 * d + 3, runs * self.num_steps
        if self.gather:
            rows, inputs = F.np.transpose(inputs[0]), inputs[1:]
            X, y = F.np.take(X, rows, axis=0), F.np.take(y, rows, axis=0)
        X, y = F.np.reshape(X, (many, B, d)), F.np.reshape(y, (many, B, 1))
        weight, bias, weight_state, bias_state, lrs, constant = (F.np.copy(a) for a in inputs)
        # X̃ = [X, 1], (many, B, p): one concatenation of a graph's few numbers a row, where G
        # built from XᵀX and the column sums took twelve operations
        X = F.np.concatenate([X, F.np.ones((many, B, 1))], axis=2)
        gram = F.npx.batch_dot(X, X, transpose_a=True)  # G = X̃ᵀX̃
        moment = F.npx.batch_dot(X, y, transpose_a=True)  # h = X̃ᵀy
        block = F.np.concatenate([gram, F.np.zeros((many, p, p)), -moment], axis=2)  # [G, 0, -h]
        block = F.np.reshape(block, (runs, n, p, m)) * F.np.reshape(lrs, (1, n, 1, 1))
        block = F.np.reshape(block, (many, p, m))
        top = block * -(1.0 + beta) if self.nesterov else -block
        maps = F.np.concatenate([top, -block, F.np.zeros((many, 1, m))], axis=1)
        maps = F.np.reshape(maps, (runs, n, m, m))
        maps = maps + constant  # + [[I, βI or β²I, 0], [0, βI, 0], [0, 0, 1]]
        shift = 1
        while shift < n:  # maps[k] becomes the product of the maps of steps 0..k (Hillis-Steele)
            later = _part(F, maps, axis=1, begin=shift, end=n)
            earlier = _part(F, maps, axis=1, begin=0, end=n - shift)
            maps = F.np.concatenate([_part(F, maps, axis=1, begin=0, end=shift),
                                     F.np.matmul(later, earlier)], axis=1)
            shift *= 2
        start = F.np.concatenate([weight, bias, weight_state, bias_state, F.np.ones((runs, 1, 1))],
                                 axis=1)
        # (runs, n, m, 1): z after each step
        after = F.np.matmul(maps, F.np.reshape(start, (runs, 1, m, 1)))
        before = F.np.reshape(start, (runs, 1, m, 1))  # z before each step
        if n > 1:
            before = F.np.concatenate([before, _part(F, after, axis=1, begin=0, end=n - 1)], axis=1)
        before = F.np.reshape(before, (many, m, 1))
        residual = F.npx.batch_dot(X, _part(F, before, axis=1, begin=0, end=p)) - y
        losses = F.np.reshape(0.5 * F.np.mean(F.np.square(residual), axis=(1, 2)), (runs, n))
        last = F.np.reshape(_part(F, after, axis=1, begin=n - 1, end=n), (runs, m, 1))
        outputs = [losses, _part(F, last, 1, 0, d), _part(F, last, 1, d, p)]
        if beta:
            outputs += [_part(F, last, 1, p, p + d), _part(F, last, 1, p + d, 2 * p)]
        else:  # MXNet keeps no state without momentum: the states stay as they came
            outputs += [weight_state, bias_state]
        if self.record:
            outputs += [_part(F, after, 2, 0, d), _part(F, after, 2, d, p)]
        return tuple(outputs)


def _scan_constant(num_features, momentum, nesterov, ctx):
    """[[I, βI (nag: β²I), 0], [0, βI, 0], [0, 0, 1]]: the part of a step's map that is the same
    every step."""
    p = num_features + 1
    constant = onp.eye(2 * p + 1, dtype=onp.float32)
    constant[p:2 * p, p:2 * p] *= momentum
    constant[:p, p:2 * p] = onp.eye(p) * (momentum ** 2 if nesterov else momentum)
    return np.array(constant, ctx=ctx)


def _split(F, array, parts):
    """`array` cut into `parts` equal parts along its first axis by one split op: for a few numbers
    a part (each step's learning rate) cheaper than a slice each; for large parts (each step's
    batch) slower, its cost growing with the square of the number of parts."""
    return F.np.split(array, parts) if parts > 1 else [array]


def _part(F, array, axis, begin, end):
    """array[..., begin:end, ...] along `axis`: one slice op in a graph (indexing adds a reshape)"""
    return F.npx.slice(array, begin=(None,) * axis + (begin,), end=(None,) * axis + (end,))


GRAPHS = {"steps": _Steps, "table": _Table, "scan": _Scan}


@functools.lru_cache(maxsize=64)
def _steps_graph(kind, runs, num_steps, batch_size, num_features, momentum, nesterov, record,
                 gather, evaluate=False):
    graph = GRAPHS[kind](runs, num_steps, batch_size, num_features, momentum, nesterov, record,
                         gather, evaluate)
    graph.hybridize(static_alloc=True, static_shape=True)
    return graph


def _graph_kind(runs, batch_size, num_features, scan):
    """Which graph makes these steps fastest: composed (`_Scan`, few features and whole batches),
    written out on rows [x, 1, y] (`_Table`, small batches) or written out plainly (`_Steps`)."""
    if scan and num_features <= SCAN_MAX_FEATURES:
        return "scan"
    return "table" if runs * batch_size * (num_features + 2) <= TABLE_MAX_NUMBERS else "steps"


def single_dense(net):
    """The `Dense(1)` that `net` is (or holds alone): with a bias, no activation, float32, known
    input size and on one device; otherwise `ValueError`."""
    alone = isinstance(net, (nn.Sequential, nn.HybridSequential)) and len(net) == 1
    dense = net[0] if alone else net
    if not isinstance(dense, nn.Dense):
        raise ValueError("the fused path trains a net that is one Dense(1) layer, got "
                         f"{type(net).__name__}")
    weight = dense.weight
    if weight.shape[0] != 1 or dense.act is not None or dense.bias is None or 0 in weight.shape:
        raise ValueError("the fused path needs Dense(1) with a bias, no activation and a known "
                         "input size")
    if len(weight.list_ctx()) != 1 or onp.dtype(weight.dtype) != onp.float32:
        raise ValueError(f"the fused path needs the net's float32 parameters on one device, got "
                         f"{onp.dtype(weight.dtype)} on {len(weight.list_ctx())}")
    return dense


def fused_suits(batch_size, num_features):
    """Whether the fused path is the faster one for batches of this shape (small batches: the
    overhead dominates)."""
    return batch_size * num_features <= FUSED_MAX_BATCH_NUMBERS


def rows_array(orders, ctx):
    """Permutations (one per run, each over all rows) as the int32 (examples, runs) array the graph
    gathers with; shared with NumPy rather than copied (a copy costs an engine call of 100-150 µs).
    """
    rows = onp.ascontiguousarray(onp.stack(orders, axis=1), dtype=onp.int32)
    # (holds a reference to `rows`)
    shared = mx.nd.from_numpy(rows, zero_copy=True, array_cls=np.ndarray)
    return shared if ctx == mx.cpu() else shared.as_in_ctx(ctx)


class _Updates:
    """The loop over graph calls shared by `LinearUpdates` and `LinearRuns`: `state` is [weights,
    biases, weight states, bias states] of `runs` models, each (runs, d, 1) or (runs, 1, 1),
    replaced as it runs."""

    def __init__(self, state, lr, momentum, optimizer, batch_size, steps_per_graph):
        self.lr = checks.positive("lr", lr)
        self.momentum = checks.fraction("momentum", momentum)
        self.nesterov = checks.choice("optimizer", optimizer, OPTIMIZERS) == "nag"
        self.batch_size = checks.integer("batch_size", batch_size, 1)
        self.steps_per_graph = checks.integer("steps_per_graph", steps_per_graph, 1, 10_000)
        self.state = state
        self.ctx = state[2].ctx
        self._constants = {}

    def _constant_lrs(self, value, size):
        """A float32 vector of `size` copies of `value`, made once (a new array costs an engine
        call)."""
        key = (value, size)
        if key not in self._constants:
            self._constants[key] = np.full((size,), value, dtype="float32", ctx=self.ctx)
        return self._constants[key]

    def _scan_constant(self):
        key = ("scan", self.state[2].shape[1])
        if key not in self._constants:
            self._constants[key] = _scan_constant(key[1], self.momentum, self.nesterov, self.ctx)
        return self._constants[key]

    def _scaled_lrs(self, lrs, num_steps, num_examples):
        """Each step's learning rate over its batch's size (Trainer.step(B)'s 1/B folded in), as one
        array."""
        lrs = onp.asarray(lrs, dtype=onp.float64).ravel()
        if lrs.shape != (num_steps,) or not (onp.all(onp.isfinite(lrs)) and onp.all(lrs >= 0)):
            raise ValueError(f"lrs must hold {num_steps} finite learning rates >= 0, got "
                             f"{lrs.size} values")
        sizes = onp.minimum(self.batch_size, num_examples - self.batch_size * onp.arange(num_steps))
        return np.array((lrs / sizes).astype(onp.float32), ctx=self.ctx)

    def steps_allowed(self, num_examples, num_steps):
        most = -(-num_examples // self.batch_size)
        if num_steps is None:
            return most
        name = f"num_steps (for {num_examples} examples in batches of {self.batch_size})"
        return checks.integer(name, num_steps, 1, most)

    def advance(self, X, y, rows, num_steps, lrs=None, record=False, evaluate=False):
        """`num_steps` updates on examples in visiting order: the rows of X, y in turn, or with
        `rows` the rows it names. Returns the batch losses (runs, num_steps), with `record` the
        weights (runs, num_steps, d, 1) and biases (runs, num_steps, 1, 1) after each step (else
        None), and with `evaluate` (one run, with `rows`) the mean loss on all of X, y after the
        last step (else None), as MXNet arrays."""
        num_examples = len(X) if rows is None else len(rows)
        scaled = None if lrs is None else self._scaled_lrs(lrs, num_steps, num_examples)
        runs, num_features = self.state[0].shape[:2]
        losses, weights, biases, step = [], [], [], 0
        while step < num_steps:
            begin = step * self.batch_size
            size = min(self.batch_size, num_examples - begin)
            count = min(num_steps - step, (num_examples - begin) // size)
            kind = _graph_kind(runs, size, num_features, scan=size == self.batch_size)
            count = min(count, SCAN_STEPS_PER_GRAPH if kind == "scan" else self.steps_per_graph)
            end = begin + count * size
            last = evaluate and step + count == num_steps
            graph = _steps_graph(kind, runs, count, size, num_features, self.momentum,
                                 self.nesterov, record, rows is not None, last)
            if rows is None:
                data = (X[begin:end], y[begin:end])
            else:  # (slicing an MXNet array costs an engine call: none when a graph takes all)
                data = (X, y, rows if (begin, end) == (0, len(rows)) else rows[begin:end])
            if scaled is None:
                step_lrs = self._constant_lrs(self.lr / size, count)
            else:
                step_lrs = scaled[step:step + count]
            scan_inputs = [self._scan_constant()] if kind == "scan" else []
            outputs = graph(*data, *self.state, step_lrs, *scan_inputs)
            losses.append(outputs[0])
            if len(losses) > MAX_GRAPHS_QUEUED:  # MXNet queues work without bound (kB per update)
                losses[-MAX_GRAPHS_QUEUED].wait_to_read()
            self.state = list(outputs[1:5])
            if record:
                weights.append(outputs[5])
                biases.append(outputs[6])
            step += count
        join = (lambda parts: np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0])
        path = (join(weights), join(biases)) if record else None
        return join(losses), path, outputs[-1] if evaluate else None


def _zeros_state(runs, num_features, ctx):
    return [np.zeros((runs, num_features, 1), ctx=ctx), np.zeros((runs, 1, 1), ctx=ctx)]


class LinearUpdates:
    """SGD (heavy ball) or NAG on `Dense(1)` + `L2Loss`, `steps_per_graph` updates per compiled
    graph.

    Each `run` makes the updates of autograd + `Trainer.step(batch_size)` up to float32 rounding and
    writes the new weight and bias into the net. The momentum state is this object's own, zero at
    the start.
    """

    def __init__(self, net, batch_size, lr=0.03, momentum=0.0, optimizer="sgd",
                 steps_per_graph=STEPS_PER_GRAPH):
        self.dense = single_dense(net)
        self.ctx = self.dense.weight.list_ctx()[0]
        self.num_features = self.dense.weight.shape[1]
        state = [None, None] + _zeros_state(1, self.num_features, self.ctx)
        self._updates = _Updates(state, lr, momentum, optimizer, batch_size, steps_per_graph)
        self.lr, self.momentum = self._updates.lr, self._updates.momentum
        self.batch_size, self.nesterov = self._updates.batch_size, self._updates.nesterov

    def parameters(self):
        """The net's weight and bias as (1, d, 1) and (1, 1, 1) views."""
        weight, bias = self.dense.weight.data(self.ctx), self.dense.bias.data(self.ctx)
        return weight.reshape_view(1, self.num_features, 1), bias.reshape_view(1, 1, 1)

    def write_back(self):
        """Copy the weight and bias the updates reached into the net."""
        new_weight, new_bias = self._updates.state[:2]
        new_weight.reshape_view(1, self.num_features).copyto(self.dense.weight.data(self.ctx))
        new_bias.reshape_view(1).copyto(self.dense.bias.data(self.ctx))

    @property
    def states(self):
        """The momentum states of the weight (1, d) and the bias (1,), as MXNet's sgd and nag keep
        them."""
        weight_state, bias_state = self._updates.state[2:]
        return [weight_state.reshape_view(1, self.num_features), bias_state.reshape_view(1)]

    def run(self, X, y, num_steps=None, lrs=None, record=False, order=None, evaluate=False):
        """Update on the rows of (X, y) in order, or in the order of the permutation `order`
        (gathered inside the graph), one batch per step (the last may be partial).

        `lrs` gives a learning rate per step (e.g. a warm-up). Returns the loss of each batch before
        its update as an MXNet array, with `record` also the (w, b) after each step, and with
        `evaluate` (which needs `order`) also the mean loss on all of (X, y) afterwards, from the
        last graph call.
        """
        if evaluate and order is None:
            raise ValueError("evaluate needs an order: the whole data are then in the graph")
        X = X if isinstance(X, np.ndarray) else np.array(X, dtype="float32", ctx=self.ctx)
        y = y if isinstance(y, np.ndarray) else np.array(y, dtype="float32", ctx=self.ctx)
        if order is not None and onp.shape(order) != (len(X),):
            raise ValueError(f"order must be a permutation of the {len(X)} rows, got shape "
                             f"{onp.shape(order)}")
        rows = None if order is None else rows_array([order], self.ctx)
        num_steps = self._updates.steps_allowed(len(X), num_steps)
        self._updates.state[:2] = self.parameters()
        losses, path, full_loss = self._updates.advance(X, y, rows, num_steps, lrs, record,
                                                        evaluate)
        self.write_back()
        results = [losses.reshape_view(-1)]
        if record:
            weights, biases = path
            results.append(np.concatenate([weights.reshape_view(num_steps, -1),
                                           biases.reshape_view(num_steps, 1)], axis=1))
        if evaluate:
            results.append(full_loss)
        return results[0] if len(results) == 1 else tuple(results)


class LinearRuns:
    """`runs` independent `Dense(1)` models trained side by side by the same graph, each on its own
    order of the same examples (lesson 7's ensembles): one graph call advances them all.

    `start` is the (runs, d + 1) starting [w, b] of each; `parameters` the current ones as NumPy.
    """

    def __init__(self, start, batch_size, lr=0.03, momentum=0.0, optimizer="sgd",
                 steps_per_graph=STEPS_PER_GRAPH, ctx=None):
        start = onp.asarray(start, dtype=onp.float32)
        if start.ndim != 2 or start.shape[1] < 2 or not onp.all(onp.isfinite(start)):
            raise ValueError("start must be a finite (runs, features + 1) table, got shape "
                             f"{start.shape}")
        ctx = ctx or mx.cpu()
        runs, num_features = start.shape[0], start.shape[1] - 1
        state = [np.array(start[:, :-1, None], ctx=ctx), np.array(start[:, -1:, None], ctx=ctx)]
        self._updates = _Updates(state + _zeros_state(runs, num_features, ctx), lr, momentum,
                                 optimizer, batch_size, steps_per_graph)
        self.runs, self.num_features, self.ctx = runs, num_features, ctx

    def run(self, X, y, rows, num_steps=None, lrs=None, record=False):
        """`num_steps` updates of every run, run r visiting the rows `rows[:, r]` of (X, y) in turn
        (`rows` from `rows_array`, or a slice of it; X, y as MXNet arrays on the runs' device).
        Returns the batch losses (runs, num_steps) and with `record` each run's [w, b] after each
        step (runs, num_steps, d + 1), as NumPy float32."""
        if rows.ndim != 2 or rows.shape[1] != self.runs:
            raise ValueError(f"rows must hold one column per run ({self.runs}), got shape "
                             f"{rows.shape}")
        num_steps = self._updates.steps_allowed(len(rows), num_steps)
        losses, path, _ = self._updates.advance(X, y, rows, num_steps, lrs, record)
        if not record:
            return losses.asnumpy()
        weights, biases = path
        table = np.concatenate([weights.reshape_view(self.runs, num_steps, -1),
                                biases.reshape_view(self.runs, num_steps, 1)], axis=2)
        return losses.asnumpy(), table.asnumpy()


def _mean_loss(F, X, y, weight, bias):
    """Mean `L2Loss` of `Dense(1)` with `weight` (1, d, 1) and `bias` (1, 1, 1) on all of (X, y)."""
    weight, bias = F.np.reshape(weight, (1, -1)), F.np.reshape(bias, (1,))
    prediction = F.npx.fully_connected(X, weight, bias, num_hidden=1)
    return 0.5 * F.np.mean(F.np.square(F.np.reshape(prediction, (-1,)) - F.np.reshape(y, (-1,))))


class _FullDataLosses(nn.HybridBlock):
    """The mean loss on all of (X, y), and y·y for the loss of predicting 0, in one graph call."""

    def hybrid_forward(self, F, X, y, weight, bias):
        return _mean_loss(F, X, y, weight, bias), F.np.dot(y, y)  # (a product: faster than a mean)


@functools.lru_cache(maxsize=1)
def _full_data_losses_graph():
    graph = _FullDataLosses()
    graph.hybridize(static_alloc=True)
    return graph


class _SharedWithNumPy:
    """An MXNet array in host memory as `numpy.from_dlpack` takes it: read where it lies."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, stream=None):
        return self.array.to_dlpack_for_read()  # waits for the writes MXNet has queued on it

    def __dlpack_device__(self):
        return (1, 0)  # DLPack's code for host memory


def _same_shapes(batches, data):
    features, labels = data
    return (onp.shape(features) == tuple(batches.features.shape)
            and onp.size(labels) == batches.labels.size)


def _holds_the_examples(batches, data, block_bytes=training.EVAL_BLOCK_BYTES):
    """Whether `data` = (features, labels) are, as float32, the examples `batches` hold on their
    device.

    Every number is compared, a block of rows at a time (a float64 block is converted on its own),
    so that no second copy of large data is made. In host memory NumPy reads the device copy where
    it lies (DLPack); on another device each block is copied to the host first.
    """
    features, labels = (onp.asarray(a) for a in data)
    if not _same_shapes(batches, (features, labels)):
        return False
    device_features, device_labels = batches.features, batches.labels.reshape_view(-1)
    on_host = device_features.ctx.device_type == "cpu"
    if on_host:
        device_features, device_labels = (onp.from_dlpack(_SharedWithNumPy(a))
                                          for a in (device_features, device_labels))
    rows = max(1, block_bytes // max(1, 4 * features.shape[1]))
    for start in range(0, len(features), rows):
        end = start + rows
        blocks = [features[start:end], labels.reshape(-1)[start:end],
                  device_features[start:end], device_labels[start:end]]
        if not on_host:
            blocks[2:] = (a.asnumpy() for a in blocks[2:])
        host_features, host_labels, features_there, labels_there = (
            a.astype(onp.float32, copy=False) for a in blocks)  # no copy of float32 data
        if not (onp.array_equal(host_features, features_there)
                and onp.array_equal(host_labels, labels_there)):
            return False
    return True


def _first_batches_zero_loss(y, order, rows):
    """Mean L2Loss of predicting 0 on the first `rows` examples of an epoch visited in `order`."""
    labels = y.reshape_view(-1)
    if order is None:
        first = labels[:rows]
    else:
        first = np.take(labels, rows_array([order[:rows]], y.ctx).reshape_view(-1))
    return float(0.5 * np.mean(np.square(first)))


def fit_linear(net, batches, num_epochs, lr=0.03, momentum=0.0, optimizer="sgd", *, eval_data=None,
               max_steps=None, progress=None):
    """`training.fit` for `Dense(1)` + `L2Loss` on `loading.ShuffledBatches`, via `LinearUpdates`.

    The same updates as `fit` with `training.make_trainer(net, optimizer, lr, momentum)` (the
    momentum state starts at zero on each call), the same `History` (path "fused"),
    `DivergenceError` and progress. Each epoch's order is drawn as `ShuffledBatches.epoch_arrays`
    draws it (`_Orders`), and its batches are gathered inside the graph, so no shuffled copy of the
    data is made. `seconds_per_epoch` covers all an epoch costs: the shuffle, the updates, the
    full-data loss and the bookkeeping.
    """
    num_epochs = checks.integer("num_epochs", num_epochs, 1)
    max_steps = None if max_steps is None else checks.integer("max_steps", max_steps, 1)
    if not isinstance(batches, loading.ShuffledBatches):
        raise TypeError("batches: the fused path takes a loading.ShuffledBatches, got "
                        f"{type(batches).__name__}")
    updates = LinearUpdates(net, batches.batch_size, lr, momentum, optimizer)
    if batches.features.ctx != updates.ctx:
        raise ValueError(f"batches live on {batches.features.ctx} but the net on {updates.ctx}; "
                         "make them on one device")
    X, y, labels = batches.features, batches.labels, batches.labels.reshape_view(-1)
    # With eval_data the examples the batches hold, the full-data losses come from their device
    # copy: the losses at the start are queued at once and the comparison that allows them runs
    # meanwhile.
    on_device = eval_data is not None and _same_shapes(batches, eval_data)
    if on_device:
        start_losses = _full_data_losses_graph()(X, labels, *updates.parameters())
        on_device = _holds_the_examples(batches, eval_data)
    if on_device:  # (without shuffling, each epoch's full-data loss takes a graph call of its own)
        evaluate = (lambda: float(_full_data_losses_graph()(X, labels, *updates.parameters())[0]))
        start_loss, zero_loss = float(start_losses[0]), 0.5 * float(start_losses[1]) / len(labels)
    else:
        evaluate, zero_loss = training.full_data_loss(net, model.l2_loss(), eval_data, updates.ctx)
        start_loss = evaluate()
    history = training.History(path="fused", start_loss=start_loss, zero_loss=zero_loss)
    orders, epoch_rows = _Orders(batches), _EpochRows(batches.num_examples, updates.ctx)
    updates._updates.state[:2] = updates.parameters()
    global_step = 0
    try:  # the net gets the weights reached after the last epoch, or when a check stops the run
        with training.progress_bar(num_epochs, progress) as bar:
            for epoch in range(1, num_epochs + 1):
                started = time.perf_counter()
                order = orders.next()
                steps_left = len(batches) if max_steps is None else max_steps - global_step
                num_steps = min(len(batches), steps_left)
                in_graph = on_device and order is not None  # the full-data loss from the last call
                losses, _, full_loss = updates._updates.advance(
                    X, y, None if order is None else epoch_rows.fill(order), num_steps,
                    evaluate=in_graph)
                if epoch < num_epochs and global_step + num_steps != max_steps:
                    orders.draw_ahead()  # while MXNet's engine works on this epoch's graphs
                losses = losses.asnumpy().ravel()  # waits for the epoch's graphs: `fill` may reuse
                if in_graph:
                    full_loss = float(full_loss)
                else:
                    updates.write_back()
                    full_loss = evaluate()
                if eval_data is None and epoch == 1:  # the guard's floor, as `fit` keeps it
                    window = min(num_steps, training.WINDOW) * batches.batch_size
                    rows = min(batches.num_examples, window)
                    history.batch_zero_loss = _first_batches_zero_loss(y, order, rows)
                global_step += num_steps
                training.record_epoch(history, epoch, losses, full_loss, updates.lr, bar)
                history.seconds_per_epoch.append(time.perf_counter() - started)
                if global_step == max_steps:
                    break
    finally:
        orders.close()
        updates.write_back()
    return history


class _Orders:
    """Each epoch's order, drawn as `ShuffledBatches.epoch_arrays` draws it (one
    `numpy.random.permutation`), so that a seed gives `fit`'s orders, or None without shuffling.

    With many examples an order is drawn an epoch ahead (`draw_ahead`): NumPy shuffles the next
    epoch's rows (14 ms of CPU for a million) while MXNet's engine works on this epoch's graphs. One
    drawn for an epoch that never comes is put back (`close`), so that NumPy's generator ends where
    `fit` leaves it. With fewer examples than DRAW_AHEAD_MIN, shuffling costs less than saving the
    generator's state to put it back.
    """

    def __init__(self, batches):
        self.num_examples, self.shuffle = batches.num_examples, batches.shuffle
        self.ahead = self.state_before = None

    def draw_ahead(self):
        if self.shuffle and self.num_examples >= DRAW_AHEAD_MIN:
            self.state_before = onp.random.get_state()
            self.ahead = onp.random.permutation(self.num_examples)

    def next(self):
        if self.ahead is None:
            return onp.random.permutation(self.num_examples) if self.shuffle else None
        order, self.ahead = self.ahead, None
        return order

    def close(self):
        if self.ahead is not None:
            onp.random.set_state(self.state_before)
            self.ahead = None


class _EpochRows:
    """Each epoch's order as the (examples, 1) int32 rows array the graphs gather with, written into
    one buffer that MXNet shares (a new MXNet array costs an engine call each epoch). MXNet shares a
    view of the buffer and marks that view read-only, because its engine does not see NumPy's
    writes: the caller must have waited for the graphs that read the previous order before it fills
    in the next."""

    def __init__(self, num_examples, ctx):
        self.ctx = ctx
        self.host = onp.empty((num_examples, 1), onp.int32)
        on_cpu = ctx == mx.cpu()
        self.shared = (mx.nd.from_numpy(self.host.view(), zero_copy=True, array_cls=np.ndarray)
                       if on_cpu else None)

    def fill(self, order):
        if self.shared is None:  # another device: copied there
            return rows_array([order], self.ctx)
        self.host[:, 0] = order
        return self.shared
