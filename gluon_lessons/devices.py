"""Where arrays and parameters live: parse `--ctx` into MXNet contexts.

Lesson 4 trains on them; lesson 11 spreads one batch over several.
"""
import mxnet as mx

GPU_FIX = ("install the CUDA build in place of the CPU one "
           "(pip uninstall mxnet && pip install mxnet-cu117==1.9.1), or use --ctx cpu")


class DeviceError(RuntimeError):
    """A requested device does not exist on this machine."""


def num_gpus():
    """How many GPUs MXNet sees (0 with the CPU-only `mxnet` wheel)."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:  # a CUDA build without a driver
        return 0


def _parse_one(text):
    kind, _, index = text.strip().lower().partition(":")
    if kind not in ("cpu", "gpu") or (index and not index.isdigit()):
        raise ValueError("unknown device %r: use auto, cpu, gpu, gpu:N or a comma list such as cpu:0,cpu:1" % text)
    index = int(index) if index else 0
    if kind == "gpu" and index >= num_gpus():
        raise DeviceError("gpu:%d requested but MXNet sees %d GPU(s); %s" % (index, num_gpus(), GPU_FIX))
    return mx.gpu(index) if kind == "gpu" else mx.cpu(index)


def parse_ctx(spec="auto"):
    """`auto` (GPU 0 if MXNet sees one, else CPU), `cpu`, `gpu`, `gpu:N`, or a comma list -> list of contexts."""
    if isinstance(spec, mx.Context):
        return [spec]
    if isinstance(spec, (list, tuple)):
        contexts = [c if isinstance(c, mx.Context) else _parse_one(str(c)) for c in spec]
    elif not isinstance(spec, str) or not spec.strip():
        raise ValueError("device must be auto, cpu, gpu, gpu:N or a comma list, got %r" % (spec,))
    elif spec.strip().lower() == "auto":
        return [mx.gpu(0) if num_gpus() > 0 else mx.cpu(0)]
    else:
        contexts = [_parse_one(part) for part in spec.split(",")]
    if not contexts:
        raise ValueError("no device given")
    if len(set(contexts)) != len(contexts):
        raise ValueError("device list %r names a device twice" % (spec,))
    return contexts


def ctx_names(contexts):
    """Contexts as the strings MXNet prints: `cpu(0)`, `gpu(1)`."""
    return [str(c) for c in contexts]
