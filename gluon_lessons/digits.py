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
