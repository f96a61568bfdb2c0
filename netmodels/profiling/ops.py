"""What each aten operator costs: a table from operator name to a small pure function.

Convention, stated once: one multiply-accumulate (MAC) is one fused multiply-add; FLOPs = 2 MACs.
Only convolutions and matrix products count MACs (BottleNet++ Table I counts "multiplications in
the conv layers"); every other operator moves data but counts no MACs. Memory traffic counts the
floating-point activation elements an operator reads and writes (weights and buffers excluded,
integer outputs such as pooling indices excluded): an unfused upper bound, every operator's
operands going through memory once.

An operator that is neither in `HANDLERS` nor in `FREE_OPS` is reported as unsupported by the
tracer, never silently counted as zero.

Layer classes: every costed operator also belongs to one class of `LAYER_CLASSES` (`layer_class`),
so that a latency model can give each class its own efficiencies and per-kernel overhead
(hwmodels.roofline): a convolution is `depthwise` when grouped (groups > 1, depthwise or
AlexNet-style), `pointwise` when its kernel is 1x1, else `conv`; matrix products are `linear`;
batch, layer and group norms are `norm`; everything else with a handler (activations, pooling,
additions, concatenation, copies) is `elementwise`. Free ops belong to no class.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass(frozen=True)
class TensorInfo:
    """What a handler may know of an operand: its shape and whether it is a weight/buffer."""

    shape: tuple[int, ...]
    is_weight: bool = False
    is_float: bool = True

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class OpCount:
    """Cost of one operator call: MACs and activation elements read and written; its layer class
    ("" for a free op) and the weight/buffer elements it reads."""

    macs: int
    read_elements: int
    written_elements: int
    layer_class: str = ""
    weight_elements: int = 0


#: the layer classes of costed operators (module doc), in the order tables list them
LAYER_CLASSES = ("conv", "depthwise", "pointwise", "linear", "elementwise", "norm")


Handler = Callable[[Sequence[TensorInfo], Sequence[TensorInfo], Sequence[object]], int]


def _activation_traffic(inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]) -> tuple[int, int]:
    read = sum(t.numel for t in inputs if t.is_float and not t.is_weight)
    written = sum(t.numel for t in outputs if t.is_float)
    return read, written


def conv_macs(inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo], args: Sequence[object]) -> int:
    """aten.convolution: N K (C/g) R S P Q; a transposed conv counts from its input side."""
    x, w = inputs[0], inputs[1]
    transposed = bool(args[6])
    kernel_volume = math.prod(w.shape[2:])
    if transposed:  # weight (C_in, C_out/g, R, S): every input element meets C_out/g R S weights
        return x.numel * w.shape[1] * kernel_volume
    return outputs[0].numel * w.shape[1] * kernel_volume  # weight (C_out, C_in/g, R, S)


def matmul_macs(inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo], args: Sequence[object]) -> int:
    """mm / bmm / matmul / linear: output elements x the contracted (last) dimension of `a`."""
    return outputs[0].numel * inputs[0].shape[-1]


def addmm_macs(inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo], args: Sequence[object]) -> int:
    """addmm(bias, a, b): as a matrix product of `a` and `b`; adding the bias is free."""
    return outputs[0].numel * inputs[1].shape[-1]


def no_macs(inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo], args: Sequence[object]) -> int:
    """Element-wise, pooling, normalisation, concatenation, padding: data movement only."""
    return 0


def _table(handler: Handler, names: str) -> dict[str, Handler]:
    return {name: handler for name in names.split()}


HANDLERS: dict[str, Handler] = {
    **_table(conv_macs, "convolution _convolution cudnn_convolution mkldnn_convolution"),
    **_table(matmul_macs, "mm bmm matmul linear"),
    "addmm": addmm_macs,
    **_table(no_macs, """
        add add_ sub sub_ mul mul_ div div_ pow neg exp sigmoid sigmoid_ tanh tanh_ clamp clamp_
        relu relu_ hardtanh hardtanh_ leaky_relu leaky_relu_ gelu silu silu_ hardswish hardswish_
        where rsqrt sqrt abs round round_ floor ceil sign reciprocal log log2 square
        gt lt ge le eq ne minimum maximum logical_and logical_or logical_not
        bitwise_and bitwise_or bitwise_xor __and__ __or__ __xor__ __lshift__ __rshift__
        remainder fmod floor_divide masked_fill masked_fill_ clamp_min clamp_max
        index index_select gather argmin argmax
        max_pool2d max_pool2d_with_indices avg_pool2d avg_pool3d adaptive_avg_pool2d
        _adaptive_avg_pool2d adaptive_max_pool2d mean sum amax amin max min
        native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_no_training
        cudnn_batch_norm native_layer_norm native_group_norm
        cat stack constant_pad_nd clone copy_ contiguous native_dropout dropout
        upsample_nearest2d upsample_bilinear2d softmax _softmax log_softmax _log_softmax
    """),
}

_CONV_OPS = frozenset("convolution _convolution cudnn_convolution mkldnn_convolution".split())
_LINEAR_OPS = frozenset("mm bmm matmul linear addmm".split())
_NORM_OPS = frozenset("""native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_no_training
    cudnn_batch_norm native_layer_norm native_group_norm""".split())


def layer_class(name: str, inputs: Sequence[TensorInfo], args: Sequence[object]) -> str:
    """The layer class (LAYER_CLASSES) of handled operator `name`. A convolution's groups are
    read from its shapes (input channels / the weight's input channels per group), so every
    overload classifies alike; a transposed one (aten.convolution's args[6]) names them (args[8])."""
    if name in _CONV_OPS:
        x, w = inputs[0], inputs[1]
        transposed = name in ("convolution", "_convolution") and bool(args[6])
        grouped = int(args[8]) > 1 if transposed else x.shape[1] != w.shape[1]
        if grouped:
            return "depthwise"
        return "pointwise" if all(k == 1 for k in w.shape[2:]) else "conv"
    if name in _LINEAR_OPS:
        return "linear"
    return "norm" if name in _NORM_OPS else "elementwise"


# Views, metadata and allocation: no arithmetic, no data moved.
FREE_OPS = frozenset("""
    view _unsafe_view reshape t transpose permute squeeze unsqueeze expand flatten alias detach
    as_strided as_strided_ slice select split split_with_sizes chunk unbind empty empty_like zeros zeros_like
    ones ones_like full fill_ lift_fresh _to_copy to
""".split())


def count(name: str, inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo],
          args: Sequence[object]) -> OpCount | None:
    """Cost of operator `name` (its overload packet name), or None if it has no handler."""
    if name in FREE_OPS:
        return OpCount(0, 0, 0)
    handler = HANDLERS.get(name)
    if handler is None:
        return None
    read, written = _activation_traffic(inputs, outputs)
    weights = sum(t.numel for t in inputs if t.is_weight)
    return OpCount(handler(inputs, outputs, args), read, written, layer_class(name, inputs, args), weights)
