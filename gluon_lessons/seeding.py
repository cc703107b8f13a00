"""One call seeds every random number generator the course uses."""
import random

import mxnet as mx
import numpy


def set_seed(seed):
    """Seed Python's `random`, NumPy's global RNG (used by DataLoader's shuffle) and `mx.random`."""
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError("seed must be a non-negative integer, got %r" % (seed,))
    seed = int(seed)
    random.seed(seed)
    numpy.random.seed(seed % 2**32)
    mx.random.seed(seed % 2**31)
    return seed
