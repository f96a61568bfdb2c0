"""Pricing a candidate as built: its actual modules traced, its measured payload sent.

The device runs the candidate's head units and its encoder, the server its decoder and tail
units; both are traced once (netmodels.profiling.trace) so a physically pruned head or an injected
bottleneck is priced as it is, and priced layer by layer by the same cost model as sweeps
(explorer.cost.evaluate.price). The link carries the candidate's payload: bits on a digital channel,
real values on the analog one (two per complex channel use); a JPEG-coded feature (BottleNet,
edge-host) also runs the device's encoder over its elements.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.cost.evaluate import Hardware, UnitLoads, Workload, price
from explorer.profile.table import BitWidths
from netmodels.profiling.trace import UnitTrace, trace_units
from netmodels.candidate.build import Candidate

JPEG_CODECS = ("jpeg", "rle-huffman")


def _units(part: nn.Module | None, name: str) -> list[tuple[str, nn.Module]]:
    if part is None:
        return []
    if isinstance(part, nn.Sequential):
        return [(f"{name}.{i}", module) for i, module in enumerate(part)]
    return [(name, part)]


@dataclass(frozen=True)
class CandidateTrace:
    """Per-frame unit costs of the device part (head + encoder) and the server part."""

    device: list[UnitTrace]
    server: list[UnitTrace]
    input_elements: int


def trace_candidate(candidate: Candidate, input_shape: tuple[int, int, int]) -> CandidateTrace:
    """One eval-mode forward pass of the candidate's module (batch 1), costed per unit."""
    module = candidate.module
    # a decoder that simulates its codec in training (a JPEG proxy) is priced for what is
    # deployed after the real decoder: its `deployed` part
    decoder = getattr(module.decoder, "deployed", module.decoder)
    device_units = _units(module.head, "head") + _units(module.encoder, "encoder")
    server_units = _units(decoder, "decoder") + _units(module.tail, "tail")
    first = next(module.parameters(), None)
    x = torch.zeros((1, *input_shape), device=first.device if first is not None else "cpu")
    trace = trace_units(module, lambda: module(x), device_units + server_units,
                        input_shape=input_shape)
    return CandidateTrace(trace.units[:len(device_units)], trace.units[len(device_units):],
                          int(np.prod(input_shape)))


def _loads(units: list[UnitTrace], bits: BitWidths) -> UnitLoads:
    def row(values) -> np.ndarray:
        return np.asarray([list(values)], dtype=float).reshape(1, -1)

    return UnitLoads(row(u.macs for u in units), row(u.params * bits.weight / 8 for u in units),
                     row((u.read_elements + u.written_elements) * bits.feature_bits / 8 for u in units))


def candidate_workload(candidate: Candidate, trace: CandidateTrace, bits: BitWidths) -> Workload:
    """The one-point workload of a candidate as built (see explorer.cost.evaluate.Workload)."""
    profile = candidate.profile
    device, server = _loads(trace.device, bits), _loads(trace.server, bits)
    # live features: each unit holds its input and its output
    sizes = [trace.input_elements] + [int(np.prod(u.output_shape)) for u in trace.device]
    peak = max((a + b for a, b in zip(sizes, sizes[1:])), default=0) * bits.feature_bits / 8
    analog = profile.channel_uses > 0
    one = lambda value: np.array([float(value)])  # noqa: E731
    return Workload(
        head=device, tail=server, part=np.array([0]),
        part_weight_bytes=one(device.weight_bytes.sum()), part_peak_activation_bytes=one(peak),
        head_macs=one(device.macs.sum()), head_weight_bytes=one(device.weight_bytes.sum()),
        head_activation_bytes=one(device.activation_bytes.sum()), peak_activation_bytes=one(peak),
        tail_macs=one(server.macs.sum()), tail_weight_bytes=one(server.weight_bytes.sum()),
        encoder_macs=one(0),  # the encoder is a traced unit of the device part already
        encoded_pixels=one(profile.sent_elements if profile.codec in JPEG_CODECS else 0),
        raw_feature_bits=one(profile.raw_feature_bits),
        sent_bits=one(0 if analog else profile.payload_bits),
        sent_real_values=one(profile.analog_values if analog else 0),
        analog=np.array([analog]),
        float32_feature_bits=one(profile.raw_feature_bits),
    )


def price_candidate(candidate: Candidate, hardware: Hardware, *, input_shape: tuple[int, int, int],
                    bits: BitWidths = BitWidths()) -> dict[str, float | bool | str]:
    """Latency (s), throughput (frames/s), device energy (J) and its parts, feasibility and the
    workload (head MACs with the encoder, bits sent) of a built candidate."""
    load = candidate_workload(candidate, trace_candidate(candidate, input_shape), bits)
    priced = price(load, hardware)
    result: dict[str, float | bool | str] = {
        "head_macs": float(load.head_macs[0]), "tail_macs": float(load.tail_macs[0]),
        "head_weight_bytes": float(load.head_weight_bytes[0]),
        "sent_bits": float(candidate.profile.payload_bits),
        "sent_real_values": float(load.sent_real_values[0]),
    }
    for name, values in priced.items():
        value = values[0]
        result[name] = value.item() if isinstance(value, np.generic) else value
    return result
