"""The cost record of a built candidate, from one trace of its module (netmodels.profiling).

Compression ratio (DESIGN.md "Words"), exactly as achieved, never as requested:

    compression_ratio = raw_feature_bits / payload_bits
    raw_feature_bits  = feature elements x 32 (float32), or x 8 for the input image (k = -1)
    payload_bits      = sent_elements x bits_per_element + header_bits

bits_per_element is n on a digital channel (BEC, BSC), 32 on the ideal channel (raw float32;
8 for the image), and 32 per real value on the analog AWGN channel: a real value is counted as
the float32 it would be if sent digitally, so on AWGN the ratio is the reduction in the number
of real values (BottleNet++'s "bandwidth reduction"). `analog_values` and `channel_uses`
(= ceil(values / 2): quadrature modulation, I and Q each carry one value, paper 000 IV.B) are
what a link model needs for the analog channel. header_bits is reliable side information (a
per-sample min/max: 64 bits). For a codec with a data-dependent size (BottleNet's JPEG) the
payload is nominal until `measure_payload` (netmodels.candidate.payload) measures the real files.

MACs and parameters of every part come from tracing the built module once (eval mode, batch 1):
the head's units and the encoder run on the device, the decoder and the tail's units on the
server; the channel layer and the codec proxy, which the deployed link replaces, count nowhere.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from netmodels.candidate.module import SplitModel
from netmodels.candidate.spec import CandidateSpec
from netmodels.methods.base import MethodParts
from netmodels.zoo import FLOAT32_BITS, INPUT_IMAGE_BITS
from netmodels.modules import module_device
from netmodels.profiling import LAYER_CLASSES, ClassCount, UnitTrace, trace_units


@dataclass(frozen=True)
class UnitCost:
    """Per-frame cost of one traced part of a candidate (a head or tail unit, the encoder, the
    decoder): MACs, parameters, activation elements read and written (unfused), output elements;
    `classes`: the same work by layer class, one (MACs, weight/buffer elements, activation
    elements, operator calls) per class of LAYER_CLASSES in order (empty in records written
    before units held their classes)."""

    name: str
    macs: int
    params: int
    activation_elements: int
    output_elements: int
    classes: tuple[tuple[int, int, int, int], ...] = ()

    @classmethod
    def of(cls, trace: UnitTrace) -> "UnitCost":
        empty = ClassCount()
        classes = tuple((c.macs, c.weight_elements, c.read_elements + c.written_elements, c.kernels)
                        for c in (trace.by_class.get(name, empty) for name in LAYER_CLASSES))
        return cls(trace.name, trace.macs, trace.params, trace.read_elements + trace.written_elements,
                   math.prod(trace.output_shape), classes)


@dataclass(frozen=True)
class CandidateProfile:
    """What the cost evaluator prices for one candidate, per frame (batch 1); plain values only.

    MACs are multiply-accumulates (FLOPs = 2 MACs). head_macs / head_params: the deployed
    (physically pruned) head alone, the encoder excluded; encoder_macs / encoder_params: the
    encoder, which runs on the device after the head (device MACs = head_macs + encoder_macs);
    decoder_macs and tail_macs likewise on the server. device_units: the head's units then the
    encoder, server_units: the decoder then the tail's units, each as traced (the cost model prices
    them layer by layer); input_elements: the input image's. Shapes exclude the batch dimension.
    Bits as defined in the module docstring; channel_uses is 0 on digital channels (bits go to the
    link model). payload_measured: the payload is a measured mean of a codec's real output (True),
    or exact by construction / nominal before measuring (False; `codec` names the codec whose size
    is still to be measured). sparsity: the spec's; feature_sparsity: the fraction of the
    feature's elements removed by activation pruning; pruned_channels: output channels removed
    from the head (the feature's included); unpruned_feature_bits: raw bits of the base model's
    feature at the split; uncoded: the payload's bits go over the link's raw channel uses, without
    a channel code, because the candidate was trained through the channel's bit errors
    (Channel.trained_through_errors: BottleNet++ over the BEC, paper 000).
    """

    model: str
    dataset: str
    method: str
    split_index: int
    split_name: str
    channel: str
    feature_shape: tuple[int, ...]
    sent_shape: tuple[int, ...]
    sent_elements: int
    bits_per_element: int
    header_bits: int
    payload_bits: float
    raw_feature_bits: int
    compression_ratio: float
    analog_values: int
    channel_uses: int
    head_macs: int
    encoder_macs: int
    decoder_macs: int
    tail_macs: int
    head_params: int
    encoder_params: int
    decoder_params: int
    tail_params: int
    input_elements: int
    device_units: tuple[UnitCost, ...]
    server_units: tuple[UnitCost, ...]
    sparsity: float = 0.0
    pruned_channels: int = 0
    codec: str | None = None
    payload_measured: bool = False
    feature_sparsity: float = 0.0
    unpruned_feature_bits: int = 0
    uncoded: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return _lists(asdict(self))


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def _units(part: nn.Module | None, name: str) -> list[tuple[str, nn.Module]]:
    """A part as traced units: a Sequential unit by unit (so it is priced layer by layer)."""
    if part is None:
        return []
    if isinstance(part, nn.Sequential):
        return [(f"{name}.{i}", module) for i, module in enumerate(part)]
    return [(name, part)]


def trace_parts(module: SplitModel, input_shape: tuple[int, ...]) -> tuple[list[UnitTrace], list[UnitTrace]]:
    """(device units: head then encoder, server units: decoder then tail) of one eval-mode
    forward pass (batch 1); UnsupportedOpError if a part runs an operator without a cost handler."""
    device = _units(module.head, "head") + _units(module.encoder, "encoder")
    server = _units(module.decoder, "decoder") + _units(module.tail, "tail")
    x = torch.zeros((1, *input_shape), device=module_device(module))
    trace = trace_units(module, lambda: module(x), device + server, input_shape=tuple(input_shape))
    trace.require_supported(f"candidate at {module.split_name!r}")
    return trace.units[:len(device)], trace.units[len(device):]


def _sum(units: list[UnitTrace], part: str, field: str) -> int:
    return sum(getattr(u, field) for u in units if u.name == part or u.name.startswith(part + "."))


def profile_candidate(spec: CandidateSpec, module: SplitModel, parts: MethodParts, *, input_shape: tuple[int, ...],
                      unpruned_shape: tuple[int, ...], feature_shape: tuple[int, ...],
                      pruned_channels: int) -> CandidateProfile:
    """The profile of a built candidate (module docstring)."""
    k = module.split_index
    width = INPUT_IMAGE_BITS if k == -1 else FLOAT32_BITS
    raw_bits = math.prod(feature_shape) * width
    sent = math.prod(parts.sent_shape)
    payload = sent * parts.bits_per_element + parts.header_bits
    analog = sent if module.channel.unit == "real" else 0
    device, server = trace_parts(module, input_shape)
    traced = device + server
    return CandidateProfile(
        model=spec.model, dataset=spec.dataset, method=spec.method, split_index=k, split_name=module.split_name,
        channel=spec.channel.kind, feature_shape=tuple(feature_shape), sent_shape=tuple(parts.sent_shape),
        sent_elements=sent, bits_per_element=parts.bits_per_element, header_bits=parts.header_bits,
        payload_bits=float(payload), raw_feature_bits=raw_bits, compression_ratio=raw_bits / payload,
        analog_values=analog, channel_uses=math.ceil(analog / 2),
        **{f"{part}_{what}": _sum(traced, part, field) for part in ("head", "encoder", "decoder", "tail")
           for what, field in (("macs", "macs"), ("params", "params"))},
        input_elements=math.prod(input_shape),
        device_units=tuple(map(UnitCost.of, device)), server_units=tuple(map(UnitCost.of, server)),
        sparsity=spec.sparsity, pruned_channels=pruned_channels, codec=parts.codec,
        feature_sparsity=1.0 - math.prod(feature_shape) / math.prod(unpruned_shape),
        unpruned_feature_bits=math.prod(unpruned_shape) * width,
        uncoded=module.channel.trained_through_errors,
    )
