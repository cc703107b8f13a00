"""One call seeds every random number generator the course uses."""

import random

import mxnet as mx
import numpy

from . import checks


def set_seed(seed):
    """Seed Python's `random`, NumPy's global RNG (used by DataLoader's shuffle) and `mx.random`."""
    seed = checks.integer("seed", seed, 0)
    random.seed(seed)
    numpy.random.seed(seed % 2**32)
    mx.random.seed(seed % 2**31)
    return seed
