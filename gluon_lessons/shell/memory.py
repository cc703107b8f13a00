"""What fits in this machine's memory: checked before a command allocates, so it ends in one line."""

from ..data import (  # noqa: F401  (the functions still sit beside the data; the shell reaches them here)
    MXNET_BYTES,
    TRAINING_COPIES,
    NotEnoughMemory,
    available_memory,
    check_memory,
    check_room_to_train,
    data_bytes,
)
