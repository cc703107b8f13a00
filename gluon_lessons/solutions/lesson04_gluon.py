# %% [markdown]
# # Lesson 4 — worked solutions
#
# ## Exercise 1 — `trainer.step(1)`
# `trainer.step(B)` scales the summed gradient by 1/B before the update, so the step is η·Σg/B.
# With `step(1)` nothing is divided: the same step needs η/B, here 0.03 / 10.

# %%
from mxnet import autograd, gluon, init
from mxnet.gluon import nn

from gluon_lessons import data, loading, model
from gluon_lessons.exercises import check
from gluon_lessons.seeding import set_seed

check(4, 1, 0.03 / 10)

# %% [markdown]
# ## Exercise 2 — the walkthrough's weights
# Train the walkthrough's `Dense(1)` for a few epochs and read the parameters out of the net.

# %%
set_seed(0)
house = data.walkthrough_data()
data_iter = loading.data_loader(house.features, house.labels, batch_size=10, shuffle=True)
net = nn.HybridSequential()
net.add(nn.Dense(1))
net.initialize(init.Normal(sigma=0.01))
loss = gluon.loss.L2Loss()
trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.03})
for epoch in range(3):
    for X, y in data_iter:
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(X.shape[0])
weight, bias = model.extract_weights(net)
print(f"w = {weight}, b = {bias:.4f}")
check(4, 2, (weight, bias))
