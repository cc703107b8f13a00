"""`gluon-lessons train`: the data it trains on, checked before training starts, and the choice
between the plain loop (`training.fit`) and the fused fast path (`fused.fit_linear`)."""

from .. import data as house_data
from .. import devices, fused, model, training
from . import datafiles, memory

PATHS = ("steps", "fused")


def choose_path(loader, ctx, batch_size, num_features):
    """ "fused" where it applies and is faster (the fast loader, one device, batches it suits), else "steps"."""
    one_device = len(devices.parse_ctx(ctx)) == 1
    suits = loader == "fast" and one_device and fused.fused_suits(batch_size, num_features)
    return "fused" if suits else "steps"


def train_linear_regression(
    data,
    batch_size=10,
    lr=0.03,
    momentum=0.0,
    optimizer="sgd",
    num_epochs=3,
    ctx="auto",
    seed=0,
    loader="fast",
    path="steps",
    max_steps=None,
    progress=None,
):
    """`training.train_linear_regression` (`path="steps"`), or the same updates through `fused.fit_linear`
    (`path="fused"`: fast loader, one device), many at a time. `history.path` says which ran."""
    if path not in PATHS:
        raise ValueError("path must be 'steps' or 'fused', got %r" % (path,))
    if path == "steps":
        return training.train_linear_regression(
            data,
            batch_size,
            lr,
            momentum,
            optimizer,
            num_epochs,
            ctx,
            seed,
            loader,
            max_steps=max_steps,
            progress=progress,
        )
    lr, momentum = training.check_hyperparameters(lr, momentum, num_epochs, optimizer)
    if loader != "fast" or len(devices.parse_ctx(ctx)) != 1:
        raise ValueError("path='fused' needs loader='fast' and one device; use path='steps'")
    net, batches, contexts = training.prepare_linear_regression(data, batch_size, ctx, seed, loader)
    history = fused.fit_linear(
        net,
        batches,
        num_epochs,
        lr,
        momentum,
        optimizer,
        eval_data=(data.features, data.labels),
        max_steps=max_steps,
        progress=progress,
    )
    weight, bias = model.extract_weights(net)
    return training.TrainResult(net, weight, bias, history, contexts)


def check_float32_training(data):
    """Raise ValueError if squared errors of these data overflow float32 (|values| beyond 1.8e19)."""
    for name, values in (("features", data.features), (house_data.LABEL_NAME, data.labels)):
        largest = float(abs(values).max()) if values.size else 0.0
        if not largest <= house_data.FLOAT32_TRAIN_MAX:
            raise ValueError(
                "the data are not representable for float32 training: |%s| reaches %.3g, and the "
                "squared error of values beyond %.3g overflows float32; scale the data down"
                % (name, largest, house_data.FLOAT32_TRAIN_MAX)
            )


def training_data(csv_path=None, num_examples=None, true_w=None, true_b=None, noise=None, seed=0):
    """The data to train on (a CSV, or the walkthrough's generator with these changes), after checking that
    training on them fits in memory and in float32."""
    generated = [num_examples, true_w, true_b, noise]
    if csv_path is not None:
        if any(v is not None for v in generated):
            raise ValueError(
                "--data cannot be combined with --num-examples, --true-w, --true-b or --noise"
            )
        dataset = datafiles.load_dataset(csv_path)
        memory.check_room_to_train(dataset.num_examples, dataset.num_features, loaded=True)
    else:
        settings = dict(house_data.WALKTHROUGH)
        for key, value in zip(("num_examples", "true_w", "true_b", "noise"), generated):
            if value is not None:
                settings[key] = value
        settings["seed"] = seed
        memory.check_room_to_train(settings["num_examples"], len(settings["true_w"]))
        dataset = house_data.synthetic_house_prices(**settings)
    check_float32_training(dataset)
    return dataset
