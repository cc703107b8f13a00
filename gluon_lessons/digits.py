"""Scikit-learn's 8x8 handwritten digits (read from inside the package, no download) and a small MLP (lesson 9)."""
import dataclasses
import importlib.metadata
import importlib.util
import json
from pathlib import Path

import numpy as onp
from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

from . import files, hessian, lazy_imports

npx.set_np()

NUM_PIXELS = 64  # 8 x 8 grey levels
NUM_CLASSES = 10
PIXEL_MAX = 16.0  # grey levels run 0..16
SPLIT_FILE = files.DATA_DIR / "digits_split.json"  # lesson 9's default split, made by scikit-learn


@dataclasses.dataclass
class Digits:
    """A fixed train/test split; features are pixels / 16 in [0, 1], labels the digit as float32 (Gluon's
    softmax cross-entropy takes float labels)."""

    train_features: onp.ndarray  # (num_train, 64) float32
    train_labels: onp.ndarray  # (num_train,) float32 in 0..9
    test_features: onp.ndarray  # (num_test, 64) float32
    test_labels: onp.ndarray  # (num_test,) float32
    seed: int

    @property
    def num_train(self):
        return len(self.train_labels)

    @property
    def num_test(self):
        return len(self.test_labels)


def load(test_fraction=0.25, seed=0):
    """All 1797 digits split once, stratified by class, the split fixed by `seed`: scikit-learn's
    `load_digits` and `train_test_split`, read and made without importing scikit-learn where that
    is possible (importing it costs 0.6 s, most of it SciPy's statistics): see `_read_digits` and
    `_split`."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be a number in (0, 1), got %r" % (test_fraction,))
    if isinstance(seed, bool) or not isinstance(seed, (int, onp.integer)) or seed < 0:
        raise ValueError("seed must be a non-negative integer, got %r" % (seed,))
    pixels, target = _read_digits()
    features = (pixels / PIXEL_MAX).astype(onp.float32)
    labels = target.astype(onp.float32)
    num_test = round(test_fraction * len(labels))
    if not NUM_CLASSES <= num_test <= len(labels) - NUM_CLASSES:
        raise ValueError("test_fraction %r leaves %d test examples; each side needs at least %d (one per class)"
                         % (test_fraction, num_test, NUM_CLASSES))
    train, test = _split(target, num_test, int(seed))
    return Digits(features[train], labels[train], features[test], labels[test], int(seed))


def _read_digits():
    """The digits' pixels (1797, 64) as float64 and their classes, as `sklearn.datasets.load_digits`
    gives them: read from the file scikit-learn ships, which its `load_digits` reads, found without
    importing scikit-learn; through `load_digits` if the file is not where scikit-learn 1.7 keeps it."""
    spec = importlib.util.find_spec("sklearn")
    folders = (spec and spec.submodule_search_locations) or []
    path = Path(folders[0], "datasets", "data", "digits.csv.gz") if folders else None
    if path is not None and path.is_file():
        table = onp.loadtxt(path, delimiter=",")  # a row per digit: 64 grey levels, then its class
        return table[:, :-1], table[:, -1].astype(int)
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data, digits.target


def _split(target, num_test, seed):
    """(training rows, test rows): `sklearn.model_selection.train_test_split` stratified by class,
    which splits the rows whatever the arrays. Lesson 9's default split is stored in
    data/digits_split.json with the version of scikit-learn that made it (`split_record`), and read
    from there when that version is installed; tests/test_digits.py makes it again."""
    stored = _stored_split(len(target), num_test, seed)
    return stored if stored is not None else _scikit_learns_split(target, num_test, seed)


def _scikit_learns_split(target, num_test, seed):
    from sklearn.model_selection import train_test_split

    with lazy_imports.set_aside("pandas"):  # NumPy arrays: no need to load pandas to know they are no DataFrame
        return train_test_split(onp.arange(len(target)), test_size=num_test, random_state=seed,
                                stratify=target)


def _stored_split(num_examples, num_test, seed):
    """The stored split's (training rows, test rows) if it is the one asked for, made by the installed
    scikit-learn, and a split of all rows; otherwise None."""
    try:
        stored = json.loads(SPLIT_FILE.read_text())
        version = importlib.metadata.version("scikit-learn")
        train, test = (onp.array(stored[part], dtype=onp.int64) for part in ("train", "test"))
    except (OSError, ValueError, KeyError, TypeError, importlib.metadata.PackageNotFoundError):
        return None
    wanted = {"scikit-learn": version, "num_examples": num_examples, "num_test": num_test, "seed": seed}
    if any(stored.get(key) != value for key, value in wanted.items()) or len(test) != num_test:
        return None
    if not onp.array_equal(onp.sort(onp.concatenate([train, test])), onp.arange(num_examples)):
        return None
    return train, test


def split_record(test_fraction=0.25, seed=0):
    """What data/digits_split.json holds: the split `load` makes, made by scikit-learn now. To write
    it again (after an upgrade of scikit-learn):
    `python -c "import json; from gluon_lessons import digits; print(json.dumps(digits.split_record()))" > data/digits_split.json`
    """
    _, target = _read_digits()
    num_test = round(test_fraction * len(target))
    train, test = _scikit_learns_split(target, num_test, seed)
    return {"about": "scikit-learn's train_test_split of its digits, stratified by class, for "
                     "gluon_lessons.digits.load: made by gluon_lessons.digits.split_record",
            "scikit-learn": importlib.metadata.version("scikit-learn"),
            "num_examples": len(target), "num_test": num_test, "seed": seed,
            "train": train.tolist(), "test": test.tolist()}


ACTIVATIONS = ("swish", "relu")


def mlp(hidden_units=(32,), activation="swish", ctx=None, dtype="float32"):
    """Dense layers of `hidden_units`, each followed by `activation`, then Dense(10) logits; Xavier
    initialised (seed first). Swish, x·sigmoid(x) (Ramachandran et al. 2017), is a ReLU with the kink
    rounded off: its second derivative exists everywhere, so Hessian-vector products by differences of
    gradients are accurate (lesson 9); across a ReLU kink they are not."""
    if isinstance(hidden_units, int):
        hidden_units = (hidden_units,)
    if not hidden_units or any(isinstance(h, bool) or not isinstance(h, (int, onp.integer)) or h < 1
                               for h in hidden_units):
        raise ValueError(f"hidden_units must be one or more integers >= 1, got {hidden_units!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    net = nn.HybridSequential()
    width = NUM_PIXELS
    for units in hidden_units:
        if activation == "relu":
            net.add(nn.Dense(int(units), activation="relu", in_units=width))
        else:
            net.add(nn.Dense(int(units), in_units=width), nn.Swish())
        width = int(units)
    net.add(nn.Dense(NUM_CLASSES, in_units=width))
    net.initialize(init.Xavier(), ctx=ctx)
    if dtype != "float32":
        net.cast(dtype)
    return net


def classification_loss():
    """Softmax cross-entropy on the logits, per example (Gluon's `SoftmaxCrossEntropyLoss`)."""
    return gluon.loss.SoftmaxCrossEntropyLoss()


def evaluate(net, features, labels):
    """(mean cross-entropy, accuracy) of `net` on the examples, in the parameters' dtype."""
    param = next(iter(net.collect_params().values()))
    ctx, dtype = param.list_ctx()[0], param.dtype
    X = np.array(features, dtype=dtype, ctx=ctx)
    y = np.array(labels, dtype=dtype, ctx=ctx)
    logits = net(X)
    loss = float(classification_loss()(logits, y).mean())
    accuracy = float((logits.argmax(axis=1).astype(dtype) == y).sum()) / len(labels)  # exact k / n
    return loss, accuracy


def parameters(net):
    """The weights of an `mlp` as one float64 vector θ, in `hessian.BlockLoss` order (the order of
    `net.collect_params()`: each layer's weight row by row, then its bias)."""
    return onp.concatenate([p.data().asnumpy().astype(onp.float64).ravel()
                            for p in net.collect_params().values()])


class MLPRuns(nn.HybridBlock):
    """`num_runs` one-hidden-layer MLPs (64 -> hidden_units, Swish -> 10) side by side, trained at once.

    Lesson 9 trains one MLP per seed; one update of each costs MXNet's per-call overhead, the same for a
    batch of 1 as for 16. Here run k's weights are slice k of each parameter (`w1` (runs, hidden, 64) as
    `Dense.weight`, `b1`, `w2` (runs, 10, hidden), `b2`); a batch is (B, runs, 64), run k's own examples
    in column k, and the output (B, runs, 10) holds each run's logits. The runs share no weight, so one
    `Trainer.step(B)` on the sum of their losses (`RunsCrossEntropy`) is one step of each, as `mlp` and
    `training.fit` would take it (tests/test_digits.py: the same weights to float32 rounding).
    """

    def __init__(self, num_runs, hidden_units):
        super().__init__()
        self.num_runs, self.hidden_units = int(num_runs), int(hidden_units)
        shapes = dict(w1=(num_runs, hidden_units, NUM_PIXELS), b1=(num_runs, 1, hidden_units),
                      w2=(num_runs, NUM_CLASSES, hidden_units), b2=(num_runs, 1, NUM_CLASSES))
        for name, shape in shapes.items():
            setattr(self, name, self.params.get(name, shape=shape, init=init.Zero()))

    def hybrid_forward(self, F, X, w1, b1, w2, b2):
        # One matrix product per run and layer (batch_dot; np.matmul's broadcasting path measured
        # slower), and the bias added as the product of a column of ones with it: the gradient of a
        # broadcast bias, a sum over the batch, is a slow reduction in MXNet (half of a step's time).
        X = X.transpose(1, 0, 2)  # (runs, B, 64)
        ones = F.np.ones_like(X[:, :, :1])  # (runs, B, 1)

        def affine(inputs, weight, bias):
            return (F.npx.batch_dot(inputs, weight, transpose_b=True)
                    + F.npx.batch_dot(ones, bias))

        hidden = affine(X, w1, b1)  # (runs, B, hidden)
        # Swish; the sigmoid through MKLDNN's Activation (forward 1.28 -> 0.75 ms a step at batch 256)
        hidden = hidden * F.npx.activation(hidden, act_type="sigmoid")
        return affine(hidden, w2, b2).transpose(1, 0, 2)  # (B, runs, 10)

    def losses(self, features, labels):
        """Each run's mean cross-entropy on the same examples (all of them in one pass, as `evaluate`
        measures one `mlp`): what lesson 9 reads to stop each run at its target loss."""
        X = np.array(features, dtype=self.w1.dtype)
        X = np.broadcast_to(X.reshape(-1, 1, NUM_PIXELS), (len(X), self.num_runs, NUM_PIXELS))
        y = np.broadcast_to(np.array(labels, dtype=self.w1.dtype).reshape(-1, 1), X.shape[:2])
        log_p = npx.log_softmax(self(X), axis=-1)  # (examples, runs, 10)
        return -npx.pick(log_p, y, axis=-1).mean(axis=0).asnumpy().astype(onp.float64)

    def load(self, nets):
        """Copy the weights of `mlp(hidden_units)` networks, one per run, into the runs."""
        if len(nets) != self.num_runs:
            raise ValueError(f"need {self.num_runs} networks, got {len(nets)}")
        layers = [(net[0].weight, net[0].bias, net[-1].weight, net[-1].bias) for net in nets]
        for param, parts in zip((self.w1, self.b1, self.w2, self.b2), zip(*layers)):
            param.set_data(np.stack([p.data() for p in parts]).reshape(param.shape))

    def unload(self, run, net):
        """Copy run `run`'s weights into an `mlp(hidden_units)` network (cast to its float type)."""
        for param, target in zip((self.w1, self.b1, self.w2, self.b2),
                                 (net[0].weight, net[0].bias, net[-1].weight, net[-1].bias)):
            target.set_data(param.data()[run].reshape(target.shape).astype(target.dtype))


class RunsCrossEntropy(gluon.loss.Loss):
    """Per example, the softmax cross-entropy of each run's logits summed over the runs: (B, runs, 10)
    logits and (B, runs) labels give (B,). Gluon's `SoftmaxCrossEntropyLoss` per run, added."""

    def __init__(self):
        super().__init__(weight=None, batch_axis=0)

    def hybrid_forward(self, F, logits, labels):
        return -F.npx.pick(F.npx.log_softmax(logits, axis=-1), labels, axis=-1).sum(axis=1)


class RunsBatches:
    """Batches for `MLPRuns`: run k shuffles like `loading.ShuffledBatches` after `set_seed(seeds[k])`
    (a permutation of the examples each epoch from NumPy's RNG seeded so), and its batch i is rows
    i·B to (i+1)·B of its order, the last one shorter; batch i is (B, runs, 64) with run k in column k."""

    def __init__(self, features, labels, batch_size, seeds, ctx=None):
        self.features = np.array(features, dtype="float32", ctx=ctx)
        self.labels = np.array(labels, dtype="float32", ctx=ctx)
        self.batch_size, self.num_examples = int(batch_size), len(labels)
        self.generators = [onp.random.RandomState(seed % 2**32) for seed in seeds]

    def __len__(self):
        return -(-self.num_examples // self.batch_size)

    def __iter__(self):
        orders = onp.stack([g.permutation(self.num_examples) for g in self.generators], axis=1)
        order = np.array(orders, dtype="int32", ctx=self.features.ctx)  # (examples, runs)
        X, y = np.take(self.features, order, axis=0), np.take(self.labels, order, axis=0)
        for start in range(0, self.num_examples, self.batch_size):
            yield X[start:start + self.batch_size], y[start:start + self.batch_size]


class _SameDataGraph(nn.HybridBlock):
    """(Xᵀ with a row of ones, ones, labels, θ rows) -> each row's mean cross-entropy over the
    examples; a row of θ is a network of `mlp(hidden_units)` in `hessian.BlockLoss` order (w1 row by
    row, b1, w2, b2)."""

    def __init__(self, num_rows, hidden_units):
        super().__init__()
        self.num_rows, self.hidden_units = num_rows, hidden_units

    def hybrid_forward(self, F, X_T, ones, labels, theta):
        rows, hidden = self.num_rows, self.hidden_units
        first = hidden * NUM_PIXELS
        w1 = theta[:, :first].reshape(rows * hidden, NUM_PIXELS)
        b1 = theta[:, first:first + hidden].reshape(rows * hidden, 1)
        w2 = theta[:, first + hidden:first + hidden * (1 + NUM_CLASSES)].reshape(rows, NUM_CLASSES, hidden)
        b2 = theta[:, first + hidden * (1 + NUM_CLASSES):].reshape(rows, 1, NUM_CLASSES)
        # Every network's first layer is one matrix product, its bias a column of the weights that
        # meets the row of ones under Xᵀ; the second layer's bias a product with a column of ones.
        # Both bias gradients then come out of matrix products: MXNet's sums over a broadcast axis
        # (a bias added to every example) measured slower than the product of the layer itself.
        units = F.np.dot(F.np.concatenate([w1, b1], axis=1), X_T)  # (rows · hidden, examples)
        units = (units * F.npx.sigmoid(units)).reshape(rows, hidden, -1)  # Swish
        logits = (F.npx.batch_dot(units, w2, transpose_a=True, transpose_b=True)
                  + F.npx.batch_dot(ones, b2))  # (rows, examples, 10)
        return -F.npx.pick(F.npx.log_softmax(logits, axis=-1), labels, axis=-1).mean(axis=1)


class SameDataLoss:
    """The mean cross-entropy of many `mlp(hidden_units)` networks on the same examples, and its
    gradients, all networks side by side in one float64 pass (lesson 9's curvature and sharpness).

    A network is a flat θ in `hessian.BlockLoss` order; `values`, `gradients` and `hvps` take one θ per
    row. A network this small costs MXNet's per-call overhead and slow bias sums in `BlockLoss` (about
    three times the arithmetic); side by side they cost the arithmetic. tests/test_digits.py checks
    every result against `hessian.BlockLoss` on the same `mlp`.
    """

    MAX_ROWS = 8  # networks per pass: its arrays stay within ~11 MB each at 1348 examples
    PAD_ROWS = 4  # a pass may compute up to this many rows more to reuse a graph already compiled
    NEW_GRAPH_ROWS = 8  # what compiling a graph and its first pass cost beyond a pass, in rows

    def __init__(self, hidden_units, features, labels):
        self.hidden_units = int(hidden_units)
        self.shapes = [(self.hidden_units, NUM_PIXELS), (self.hidden_units,),
                       (NUM_CLASSES, self.hidden_units), (NUM_CLASSES,)]  # as `hessian.BlockLoss.shapes`
        self.size = sum(int(onp.prod(shape)) for shape in self.shapes)
        features = onp.asarray(features, dtype=onp.float64)
        labels = onp.asarray(labels).astype(int).ravel()
        if features.ndim != 2 or features.shape[1] != NUM_PIXELS or len(features) != len(labels):
            raise ValueError(f"need (examples, {NUM_PIXELS}) features and one label per example,"
                             f" got {features.shape} and {len(labels)} labels")
        if len(labels) == 0 or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise ValueError(f"need at least one example and labels in 0..{NUM_CLASSES - 1}")
        self.X_T = np.array(onp.vstack([features.T, onp.ones(len(labels))]), dtype="float64")
        self.labels = labels
        self.graphs = {}  # rows per pass -> (graph, ones, labels)

    def _rows(self, thetas):
        thetas = onp.asarray(thetas, dtype=onp.float64)
        if thetas.ndim != 2 or thetas.shape[1] != self.size or not onp.all(onp.isfinite(thetas)):
            raise ValueError(f"need rows of {self.size} finite numbers, got shape {thetas.shape}")
        return thetas

    def _graph(self, num_rows):
        if num_rows not in self.graphs:
            graph = _SameDataGraph(num_rows, self.hidden_units)
            graph.hybridize(static_alloc=True, static_shape=True)
            ones = np.ones((num_rows, len(self.labels), 1), dtype="float64")
            labels = np.array(onp.tile(self.labels, (num_rows, 1)), dtype="float64")
            self.graphs[num_rows] = graph, ones, labels
        return self.graphs[num_rows]

    def _widths(self, num_rows):
        """(rows, width) of each pass for `num_rows` rows: passes of equal rows, each computed at a width
        of at most MAX_ROWS, filled up by at most PAD_ROWS rows to reuse a graph already compiled; of
        the choices, the one with the fewest rows computed, a new graph counting NEW_GRAPH_ROWS more
        (its first pass costs about two)."""
        def split(passes):
            return [num_rows // passes + (k < num_rows % passes) for k in range(passes)]

        sizes = split(-(-num_rows // self.MAX_ROWS))
        choices = [(len(sizes) * max(sizes) + self.NEW_GRAPH_ROWS, len(sizes), max(sizes), sizes)]
        for width in self.graphs:
            sizes = split(-(-num_rows // width))
            if width <= self.MAX_ROWS and width - min(sizes) <= self.PAD_ROWS:
                choices.append((len(sizes) * width, len(sizes), width, sizes))
        _, _, width, sizes = min(choices)
        return [(size, width) for size in sizes]

    def _pass(self, thetas, gradients):
        values, grads, start = [], [], 0
        for size, width in self._widths(len(thetas)):
            rows = thetas[start:start + size]
            start += size
            rows = onp.concatenate([rows, onp.repeat(rows[:1], width - size, axis=0)])  # filled up
            chunk = np.array(rows, dtype="float64")
            graph, ones, labels = self._graph(width)
            if not gradients:
                values.append(graph(self.X_T, ones, labels, chunk).asnumpy()[:size])
                continue
            chunk.attach_grad()
            with autograd.record():
                losses = graph(self.X_T, ones, labels, chunk)
            losses.backward()  # the rows share nothing: the gradient of the sum is each row's own
            values.append(losses.asnumpy()[:size])
            grads.append(chunk.grad.asnumpy()[:size])
        return onp.concatenate(values), (onp.concatenate(grads) if gradients else None)

    def values(self, thetas):
        """Each row's mean cross-entropy over the examples."""
        return self._pass(self._rows(thetas), False)[0]

    def gradients(self, thetas):
        """(each row's mean cross-entropy, each row's gradient)."""
        return self._pass(self._rows(thetas), True)

    def value_and_gradient(self, theta):
        """(L(θ), ∇L(θ)) of one network, as `hessian.BlockLoss.value_and_gradient`."""
        values, gradients = self.gradients(onp.asarray(theta, dtype=onp.float64)[None])
        return float(values[0]), gradients[0]

    def value(self, theta):
        """L(θ) of one network."""
        return float(self.values(onp.asarray(theta, dtype=onp.float64)[None])[0])

    def hvps(self, thetas, vectors):
        """Row k: H(θ_k) v_k by the central difference of `hessian.BlockLoss.hvp`, with its step
        (`hessian.difference_step`), every g(θ_k ± h v̂_k) in one pass."""
        thetas, vectors = self._rows(thetas), self._rows(vectors)
        if len(thetas) != len(vectors):
            raise ValueError(f"need one vector per θ, got {len(vectors)} for {len(thetas)}")
        norms = onp.linalg.norm(vectors, axis=1)
        units = vectors / onp.where(norms > 0, norms, 1.0)[:, None]
        steps = onp.array([hessian.difference_step(theta, "float64") for theta in thetas])[:, None]
        moved = onp.concatenate([thetas + steps * units, thetas - steps * units])
        differences = self.gradients(moved)[1]
        return (differences[:len(thetas)] - differences[len(thetas):]) / (2 * steps) * norms[:, None]
