"""Where arrays and parameters live: parse `--ctx` into MXNet contexts.

Lesson 4 trains on them; lesson 11 spreads one batch over several.
"""

import os
import re

import mxnet as mx

GPU_FIX = (
    "install the CUDA build in place of the CPU one "
    "(pip uninstall mxnet && pip install mxnet-cu117==1.9.1), or use --ctx cpu"
)


class DeviceError(RuntimeError):
    """A requested device does not exist on this machine."""


def num_gpus():
    """How many GPUs MXNet sees (0 with the CPU-only `mxnet` wheel)."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:  # a CUDA build without a driver
        return 0


_DEVICE = re.compile(r"^(?P<kind>cpu|gpu)(?:(?::(?P<colon>[0-9]+))|(?:\((?P<paren>[0-9]+)\)))?$")
MAX_DEVICE_ID = 2**31 - 1  # MXNet stores a device number in a C int
# MXNet numbers CPU devices freely but keeps a table as long as the largest number (cpu:10**8 took 3.4 GB
# here), so numbers far beyond the machine's cores are refused rather than allocated.
CPU_DEVICE_LIMIT = max(64, os.cpu_count() or 1)
USAGE = "use auto, cpu, gpu, cpu:N, gpu:N or a comma list such as cpu:0,cpu:1"


def _check_number(kind, index, shown):
    if index > MAX_DEVICE_ID or (kind == "cpu" and index >= CPU_DEVICE_LIMIT):
        limit = CPU_DEVICE_LIMIT - 1 if kind == "cpu" else MAX_DEVICE_ID
        raise ValueError(
            "device %s cannot exist: %s devices are numbered 0..%d" % (shown, kind, limit)
        )
    if kind == "gpu" and index >= num_gpus():
        raise DeviceError(
            "gpu:%d requested but MXNet sees %d GPU(s); %s" % (index, num_gpus(), GPU_FIX)
        )
    return mx.gpu(index) if kind == "gpu" else mx.cpu(index)


def _parse_one(text):
    match = _DEVICE.match(text.strip().lower())
    if match is None:
        raise ValueError("unknown device %r: %s" % (text, USAGE))
    index = match.group("colon") or match.group("paren")
    return _check_number(match.group("kind"), int(index) if index else 0, text.strip())


def _check_context(context):
    if context.device_type not in ("cpu", "gpu"):
        raise ValueError("device %s: the course trains on cpu or gpu devices" % (context,))
    return _check_number(context.device_type, context.device_id, str(context))


def parse_ctx(spec="auto"):
    """`auto` (GPU 0 if MXNet sees one, else CPU), `cpu`, `gpu`, `gpu:N`, or a comma list -> list of contexts.

    A list of strings or `mx.Context`s is accepted too. ValueError for a malformed or impossible
    device, `DeviceError` for a GPU this machine does not have, TypeError for anything else.
    """
    if isinstance(spec, mx.Context):
        return [_check_context(spec)]
    if isinstance(spec, (list, tuple)):
        for item in spec:
            if not isinstance(item, (str, mx.Context)):
                raise TypeError(
                    "ctx list items must be device strings or mx.Context, got %r" % (item,)
                )
        contexts = [_check_context(c) if isinstance(c, mx.Context) else _parse_one(c) for c in spec]
    elif not isinstance(spec, str):
        raise TypeError("ctx must be a device string (%s) or mx.Context, got %r" % (USAGE, spec))
    elif not spec.strip():
        raise ValueError("ctx is empty: %s" % USAGE)
    elif spec.strip().lower() == "auto":
        return [mx.gpu(0) if num_gpus() > 0 else mx.cpu(0)]
    else:
        contexts = [_parse_one(part) for part in spec.split(",")]
    if not contexts:
        raise ValueError("no device given: %s" % USAGE)
    if len(set(contexts)) != len(contexts):
        raise ValueError("device list %r names a device twice" % (spec,))
    return contexts


def ctx_names(contexts):
    """Contexts as the strings MXNet prints: `cpu(0)`, `gpu(1)`."""
    return [str(c) for c in contexts]
