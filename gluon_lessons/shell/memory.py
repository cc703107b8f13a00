"""What fits in this machine's memory: checked before a command allocates, so it ends in one line."""

from pathlib import Path

# Memory of a training run in copies of the float32 data (NumPy, the device copy, one shuffled copy per
# epoch; about 3.3 with MXNet's pools and queue, measured by benchmarks/memory.py, so 4 to be safe), plus MXNet.
TRAINING_COPIES = 4
MXNET_BYTES = 256 * 2**20


class NotEnoughMemory(ValueError):
    """What was asked for needs more memory than this machine has available."""


def data_bytes(num_examples, num_features):
    """Bytes of the float32 features and prices."""
    return int(num_examples) * (int(num_features) + 1) * 4


def available_memory():
    """Bytes this process may still allocate: MemAvailable, capped by a cgroup limit; None when unknown."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit, usage = (Path(p).read_text().strip() for p in (limit_file, usage_file))
            if limit.isdigit() and int(limit) < 2**60:
                found.append(max(0, int(limit) - int(usage)))
        except (OSError, ValueError):
            pass
    return min(found) if found else None


def _size(num_bytes):
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= scale:
            return f"{num_bytes / scale:.3g} {unit}"
    return f"{int(num_bytes)} bytes"


def check_memory(num_bytes, what):
    """Raise `NotEnoughMemory` (a ValueError) if `num_bytes` exceed what the machine has available."""
    available = available_memory()
    if available is not None and num_bytes > available:
        raise NotEnoughMemory(
            f"{what} need about {_size(num_bytes)} of memory; this machine has {_size(available)} available"
        )


def check_room_to_train(num_examples, num_features, loaded=False):
    """Raise `NotEnoughMemory` unless a training run on data of this shape fits in memory (CLI, before it starts).

    `loaded`: the NumPy copy already exists, so it no longer counts against what is available.
    """
    need = (TRAINING_COPIES - bool(loaded)) * data_bytes(num_examples, num_features) + MXNET_BYTES
    check_memory(
        need,
        f"{num_examples} examples with {num_features} features to train on"
        f" ({TRAINING_COPIES} copies of their float32 data, and MXNet)",
    )
