"""Lesson 9's seeds trained side by side (`digits.MLPRuns`) against each seed trained alone.

Truth: for each seed, `digits.mlp` made after `set_seed(seed)` and trained by `training.fit` on
`loading.ShuffledBatches` with a momentum `Trainer`, the plain path. Side by side the runs must take
the same batches in the same order and end with the same weights; only the order of float32 sums
differs (a matrix product per run instead of `FullyConnected`), so after a few hundred updates the
weights agree to ~1e-6 against weights of order 1: 1e-5 is the tolerance, far below any change a
different batch or a missed update would make (~1e-2).
"""
import numpy as onp
import pytest
from mxnet import np

from gluon_lessons import digits, loading, training
from gluon_lessons.seeding import set_seed

SEEDS = (0, 1, 2)


def weights(net):
    return onp.concatenate([p.data().asnumpy().ravel() for p in net.collect_params().values()])


@pytest.fixture(scope="module")
def data():
    return digits.load()


def side_by_side(hidden_units):
    """One `digits.mlp` per seed, made after `set_seed(seed)`, and the same networks as `MLPRuns`."""
    nets = []
    for seed in SEEDS:
        set_seed(seed)
        nets.append(digits.mlp(hidden_units))
    together = digits.MLPRuns(len(SEEDS), hidden_units)
    together.initialize()
    together.load(nets)
    return nets, together


@pytest.mark.parametrize("batch_size, num_epochs", [(16, 2), (256, 4), (1000, 3)])
def test_side_by_side_runs_are_the_runs_trained_alone(data, batch_size, num_epochs):
    alone = []
    for seed in SEEDS:
        set_seed(seed)
        net = digits.mlp(24)
        trainer = training.make_trainer(net, "sgd", 0.1, 0.9)
        batches = loading.ShuffledBatches(data.train_features, data.train_labels, batch_size)
        training.fit(net, batches, trainer, num_epochs, loss=digits.classification_loss(), progress=False)
        alone.append(net)
    nets, together = side_by_side(24)
    batches = digits.RunsBatches(data.train_features, data.train_labels, batch_size, SEEDS)
    assert len(batches) == -(-data.num_train // batch_size)
    trainer = training.make_trainer(together, "sgd", 0.1, 0.9)
    history = training.fit(together, batches, trainer, num_epochs, loss=digits.RunsCrossEntropy(),
                           progress=False)
    assert len(history.step_loss) == num_epochs * len(batches)
    for run, seed in enumerate(SEEDS):
        out = digits.mlp(24)
        together.unload(run, out)
        onp.testing.assert_allclose(weights(out), weights(alone[run]), atol=1e-5)
        assert onp.abs(weights(alone[run]) - weights(nets[run])).max() > 1e-2  # they did train


def test_side_by_side_logits_and_losses_are_each_runs(data):
    nets, together = side_by_side(16)
    X, y = data.train_features[:7], data.train_labels[:7]
    stacked = np.array(onp.stack([X] * len(SEEDS), axis=1))  # (7, runs, 64)
    logits = together(stacked).asnumpy()
    labels = np.array(onp.stack([y] * len(SEEDS), axis=1))
    summed = digits.RunsCrossEntropy()(together(stacked), labels).asnumpy()
    each = [digits.classification_loss()(net(np.array(X)), np.array(y)).asnumpy() for net in nets]
    for run, net in enumerate(nets):
        onp.testing.assert_allclose(logits[:, run], net(np.array(X)).asnumpy(), rtol=1e-5, atol=1e-6)
    onp.testing.assert_allclose(summed, onp.sum(each, axis=0), rtol=1e-5)


def test_side_by_side_losses_on_all_examples_are_each_networks(data):
    """`MLPRuns.losses` against `evaluate` on each seed's `mlp`: float32 sums, 1e-5 relative."""
    nets, together = side_by_side(16)
    losses = together.losses(data.train_features, data.train_labels)
    for run, net in enumerate(nets):
        alone = digits.evaluate(net, data.train_features, data.train_labels)[0]
        assert losses[run] == pytest.approx(alone, rel=1e-5)
    assert onp.ptp(losses) > 1e-3  # the seeds' networks differ, so a mix-up of runs would show


def test_loading_the_wrong_number_of_networks_is_refused():
    together = digits.MLPRuns(2, 8)
    together.initialize()
    with pytest.raises(ValueError, match="need 2 networks"):
        together.load([digits.mlp(8)])


def test_same_data_loss_is_block_loss_on_each_network(data, monkeypatch):
    """Many float64 networks side by side (`SameDataLoss`) against `hessian.BlockLoss` on each `mlp`
    alone, the plain path: values and gradients agree to float64 rounding of the sums (1e-12
    relative), Hessian-vector products, differences of gradients over 2h with h ≈ 6e-6, to rounding
    over h (1e-8); passes cut at MAX_ROWS rows give the same rows."""
    from gluon_lessons import hessian

    X, y = data.train_features[:300], data.train_labels[:300]
    thetas, alone = [], []
    for seed in SEEDS:
        set_seed(seed)
        f = hessian.BlockLoss(digits.mlp(12, dtype="float64"), digits.classification_loss(), X, y)
        theta = f.get()
        thetas.append(theta + 0.3 * onp.random.default_rng(seed).standard_normal(f.size))
        alone.append(f)
    thetas = onp.array(thetas)
    together = digits.SameDataLoss(12, X, y)
    assert together.size == alone[0].size and together.shapes == alone[0].shapes
    vectors = onp.random.default_rng(9).standard_normal(thetas.shape)
    values, gradients = together.gradients(thetas)
    products = together.hvps(thetas, vectors)
    for k, f in enumerate(alone):
        value, gradient = f.value_and_gradient(thetas[k])
        assert values[k] == pytest.approx(value, rel=1e-12)
        assert together.value(thetas[k]) == pytest.approx(value, rel=1e-12)
        onp.testing.assert_allclose(gradients[k], gradient, rtol=0, atol=1e-12 * onp.abs(gradient).max())
        exact = f.hvp(vectors[k], thetas[k])
        assert onp.linalg.norm(products[k] - exact) <= 1e-8 * onp.linalg.norm(exact)
        assert onp.abs(exact).max() > 1e-3  # a product of some size, not two zeros agreeing
    widened = digits.SameDataLoss(12, X, y)  # 3 rows compiled first: 2 rows are then filled up to 3
    widened.gradients(onp.concatenate([thetas[:1]] * 3))
    assert widened._widths(2) == [(2, 3)] and widened._widths(6) == [(3, 3), (3, 3)]
    for count in range(1, 40):
        passes = widened._widths(count)
        assert sum(size for size, _ in passes) == count
        assert all(size <= width <= min(size + widened.PAD_ROWS, widened.MAX_ROWS)
                   for size, width in passes)
    onp.testing.assert_allclose(widened.gradients(thetas[:2])[1], gradients[:2], rtol=0,
                                atol=1e-15 * onp.abs(gradients).max())
    monkeypatch.setattr(digits.SameDataLoss, "PAD_ROWS", 0)
    assert widened._widths(2) == [(2, 2)]
    monkeypatch.setattr(digits.SameDataLoss, "MAX_ROWS", 2)
    onp.testing.assert_array_equal(digits.SameDataLoss(12, X, y).gradients(thetas)[1], gradients)


def test_same_data_loss_refuses_bad_input(data):
    X, y = data.train_features[:20], data.train_labels[:20]
    together = digits.SameDataLoss(4, X, y)
    with pytest.raises(ValueError, match="need rows of 310 finite numbers"):
        together.values(onp.zeros((2, 309)))
    with pytest.raises(ValueError, match="need rows of 310 finite numbers"):
        together.values(onp.full((1, 310), onp.nan))
    with pytest.raises(ValueError, match="one vector per θ"):
        together.hvps(onp.zeros((2, 310)), onp.zeros((1, 310)))
    with pytest.raises(ValueError, match="labels in 0..9"):
        digits.SameDataLoss(4, X, y + 10)
    with pytest.raises(ValueError, match="one label per example"):
        digits.SameDataLoss(4, X[:, :10], y)


# The digits and their split, read and made without importing scikit-learn where possible ---------

def test_the_digits_read_are_load_digits():
    from sklearn.datasets import load_digits

    raw = load_digits()
    pixels, target = digits._read_digits()
    assert pixels.dtype == raw.data.dtype and onp.array_equal(pixels, raw.data)
    assert onp.array_equal(target, raw.target)


def test_the_stored_split_is_the_one_scikit_learn_makes_now():
    import json

    stored = json.loads(digits.SPLIT_FILE.read_text())
    assert stored == digits.split_record(), (
        "data/digits_split.json is not the split the installed scikit-learn makes: write it again "
        "as digits.split_record's documentation says")


def _scikit_learns_split(test_fraction, seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    raw = load_digits()
    features, labels = (raw.data / digits.PIXEL_MAX).astype(onp.float32), raw.target.astype(onp.float32)
    return train_test_split(features, labels, test_size=round(test_fraction * len(labels)),
                            random_state=seed, stratify=raw.target)


def _parts(data):
    return data.train_features, data.test_features, data.train_labels, data.test_labels


@pytest.mark.parametrize("test_fraction, seed", [(0.25, 0), (0.25, 1), (0.3, 0)])
def test_load_is_scikit_learns_split_stored_or_not(test_fraction, seed, tmp_path, monkeypatch):
    expected = _scikit_learns_split(test_fraction, seed)
    stored = digits.load(test_fraction, seed)
    monkeypatch.setattr(digits, "SPLIT_FILE", tmp_path / "absent.json")
    made = digits.load(test_fraction, seed)
    for found in (stored, made):
        assert all(a.dtype == b.dtype and onp.array_equal(a, b) for a, b in zip(_parts(found), expected))


def test_a_stored_split_is_used_only_when_it_is_the_one_asked_for(tmp_path, monkeypatch):
    import json

    record = json.loads(digits.SPLIT_FILE.read_text())
    target = digits._read_digits()[1]
    path = tmp_path / "split.json"
    monkeypatch.setattr(digits, "SPLIT_FILE", path)

    def stored(**changes):
        path.write_text(json.dumps(dict(record, **changes)))
        return digits._stored_split(len(target), record["num_test"], record["seed"])

    train, test = stored()
    assert (train.tolist(), test.tolist()) == (record["train"], record["test"])
    assert stored(**{"scikit-learn": "0.0.1"}) is None  # made by another version
    assert stored(seed=record["seed"] + 1) is None
    assert stored(num_test=record["num_test"] + 1) is None
    assert stored(train=record["train"][:-1] + record["test"][:1]) is None  # not a split of all rows
    path.write_text("{not json")
    assert digits._stored_split(len(target), record["num_test"], record["seed"]) is None
