import os

# Before MXNet is imported (here, in notebook kernels and in every subprocess, which inherit it): one
# OpenMP thread per process. The tests' arrays are tiny, so extra threads only spin; with two test
# processes on two cores (`make test` runs pytest-xdist) they would fight for the cores. Results do
# not depend on it; a learner's own runs keep MXNet's default.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from gluon_lessons.shell.environment import import_mxnet  # noqa: E402

import_mxnet()  # as every lesson and command imports it: operator functions compiled at first call

from gluon_lessons import data as house_data  # noqa: E402


@pytest.fixture(scope="session")
def walkthrough():
    """The walkthrough's data set: 1000 standardized examples, w = [2, -3.4], b = 4.2, noise 0.01."""
    return house_data.synthetic_house_prices(**house_data.WALKTHROUGH)
