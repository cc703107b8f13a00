"""A `Recorder` keeps each step's values on the device and reads them in blocks: what it returns must be
exactly what reading every value at its step (the direct way, which makes MXNet wait each time) gives."""
import mxnet as mx
import numpy as onp
import pytest

from gluon_lessons import loading, model, recording, training
from gluon_lessons.seeding import set_seed


class ReadAtOnce:
    """The direct way: every value read into NumPy float64 during its own step."""

    def __init__(self, trainer, params):
        self.trainer, self.params = trainer, params
        self.parameters = [recording.flat_values(p.data() for p in params)]
        self.gradients, self.states, self.losses = [], [], []

    def __call__(self, info):
        self.parameters.append(recording.flat_values(p.data() for p in self.params))
        self.gradients.append(recording.flat_values(p.grad() for p in self.params) / info.batch_size)
        self.states.append(recording.flat_values(recording.optimizer_state(self.trainer, p) for p in self.params))
        self.losses.append(float(info.loss))


@pytest.mark.parametrize("read_every, losses", [(recording.READ_EVERY, True), (7, True), (7, False)])
def test_recorded_rows_are_the_values_of_each_step(walkthrough, read_every, losses, monkeypatch):
    monkeypatch.setattr(recording, "READ_EVERY", read_every)
    set_seed(2)
    net = model.linear_regression(mx.cpu(), num_inputs=2, hybrid=True)
    trainer = training.make_trainer(net, "nag", 0.01, 0.9)
    params = recording.dense_parameters(net)
    recorder = recording.Recorder(trainer, params, gradients=True, states=True, losses=losses)
    direct = ReadAtOnce(trainer, params)
    batches = loading.ShuffledBatches(walkthrough.features, walkthrough.labels, 10)
    training.fit(net, batches, trainer, 3, on_step=lambda info: (recorder(info), direct(info)), progress=False)
    assert len(recorder) == 300  # crosses READ_EVERY
    for name in ("parameters", "gradients", "states", "losses")[:3 + losses]:
        expected = onp.array(getattr(direct, name))
        assert onp.array_equal(getattr(recorder, name), expected), name
    if not losses:
        with pytest.raises(ValueError, match="losses=False"):
            recorder.losses
    assert onp.abs(onp.diff(recorder.parameters, axis=0)).max() > 0  # the rows do move


def test_a_recorder_refuses_what_it_was_not_asked_to_keep(walkthrough):
    net = model.linear_regression(mx.cpu(), num_inputs=2, hybrid=True)
    trainer = training.make_trainer(net, "sgd", 0.01, 0.0)
    recorder = recording.Recorder(trainer, recording.dense_parameters(net))
    assert recorder.parameters.shape == (1, 3) and len(recorder.losses) == 0
    with pytest.raises(ValueError, match="gradients=False"):
        recorder.gradients
