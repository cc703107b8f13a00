"""Scikit-learn's 8x8 handwritten digits (read from inside the package, no download) and a small MLP (lesson 9)."""
import dataclasses

import numpy as onp
from mxnet import gluon, init, np, npx
from mxnet.gluon import nn

npx.set_np()

NUM_PIXELS = 64  # 8 x 8 grey levels
NUM_CLASSES = 10
PIXEL_MAX = 16.0  # grey levels run 0..16


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
    """All 1797 digits split once, stratified by class, the split fixed by `seed`."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be a number in (0, 1), got %r" % (test_fraction,))
    if isinstance(seed, bool) or not isinstance(seed, (int, onp.integer)) or seed < 0:
        raise ValueError("seed must be a non-negative integer, got %r" % (seed,))
    digits = load_digits()
    features = (digits.data / PIXEL_MAX).astype(onp.float32)
    labels = digits.target.astype(onp.float32)
    num_test = round(test_fraction * len(labels))
    if not NUM_CLASSES <= num_test <= len(labels) - NUM_CLASSES:
        raise ValueError("test_fraction %r leaves %d test examples; each side needs at least %d (one per class)"
                         % (test_fraction, num_test, NUM_CLASSES))
    X_train, X_test, y_train, y_test = train_test_split(
        features, labels, test_size=num_test, random_state=int(seed), stratify=digits.target)
    return Digits(X_train, y_train, X_test, y_test, int(seed))


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
        hidden = hidden * F.npx.sigmoid(hidden)  # Swish, as nn.Swish() computes it
        return affine(hidden, w2, b2).transpose(1, 0, 2)  # (B, runs, 10)

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
