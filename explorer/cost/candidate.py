"""Pricing a candidate as built: its traced units, its measured payload sent.

The device runs the candidate's head units and its encoder, the server its decoder and tail
units, as netmodels.candidate.profile traced them (a physically pruned head or an injected
bottleneck priced as it is), layer by layer by the same cost model as sweeps
(explorer.cost.price). The link carries the candidate's payload: bits on a digital channel, real
values on the analog one (two per complex channel use), a candidate's bits uncoded over the
link's raw channel uses where it was trained through the channel's errors; a codec on the device's encoder block
(JPEG, RLE + Huffman, Huffman) also runs it over the sent elements. Torch-free: the profile is
plain values.
"""
from __future__ import annotations

import numpy as np

from explorer.cost.hardware import Hardware
from explorer.cost.price import price
from explorer.cost.workload import UnitLoads, Workload
from explorer.profile.bits import BitWidths
from hwmodels.roofline import LAYER_CLASSES, ClassLoads
from netmodels.candidate.profile import CandidateProfile, UnitCost
from netmodels.codecs import CODECS


def _loads(units: tuple[UnitCost, ...], bits: BitWidths) -> UnitLoads:
    def row(values) -> np.ndarray:
        return np.asarray([list(values)], dtype=float).reshape(1, -1)

    return UnitLoads(row(u.macs for u in units), row(u.params * bits.weight / 8 for u in units),
                     row(u.activation_elements * bits.feature_bits / 8 for u in units), _class_loads(units, bits))


def _class_loads(units: tuple[UnitCost, ...], bits: BitWidths) -> ClassLoads | None:
    """The units' work by layer class, arrays (1, units, classes); None where a unit's record has
    no classes (written before units held them)."""
    if any(len(u.classes) != len(LAYER_CLASSES) for u in units):
        return None
    counts = np.asarray([u.classes for u in units], dtype=float).reshape(1, len(units), len(LAYER_CLASSES), 4)
    return ClassLoads(counts[..., 0], counts[..., 1] * bits.weight / 8, counts[..., 2] * bits.feature_bits / 8,
                      counts[..., 3])


def candidate_workload(profile: CandidateProfile, bits: BitWidths) -> Workload:
    """The one-point workload of a candidate as built (see explorer.cost.workload.Workload)."""
    device, server = _loads(profile.device_units, bits), _loads(profile.server_units, bits)
    # live features: each unit holds its input and its output
    sizes = [profile.input_elements] + [u.output_elements for u in profile.device_units]
    peak = max((a + b for a, b in zip(sizes, sizes[1:])), default=0) * bits.feature_bits / 8
    analog = profile.channel_uses > 0
    encoded = profile.codec is not None and CODECS.get(profile.codec).pricing.encoder_block
    one = lambda value: np.array([float(value)])  # noqa: E731
    return Workload(
        device=device, server=server, part=np.array([0]),
        part_weight_bytes=one(device.weight_bytes.sum()), part_peak_activation_bytes=one(peak),
        head_macs=one(profile.head_macs), encoder_macs=one(profile.encoder_macs),
        decoder_macs=one(profile.decoder_macs), tail_macs=one(profile.tail_macs),
        coder_layer_macs=one(0),  # encoder and decoder are traced units of the two parts already
        head_weight_bytes=one(device.weight_bytes.sum()),
        encoded_pixels=one(profile.sent_elements if encoded else 0),
        raw_feature_bits=one(profile.raw_feature_bits),
        sent_bits=one(0 if analog else profile.payload_bits),
        sent_real_values=one(profile.analog_values if analog else 0),
        analog=np.array([analog]),
        coder_weight_bytes=one(0),  # the encoder's weights are the device part's already
        uncoded=np.array([profile.uncoded]),
        float32_feature_bits=one(profile.raw_feature_bits),
    )


def price_candidate(profile: CandidateProfile, hardware: Hardware, *,
                    bits: BitWidths = BitWidths()) -> dict[str, float | bool | str]:
    """Latency (s), throughput (frames/s), device energy (J) and its parts, feasibility, and the
    workload (head and encoder MACs, bits sent) of a built candidate."""
    load = candidate_workload(profile, bits)
    priced = {**load.columns(), **price(load, hardware)}
    priced["sent_bits"] = np.array([profile.payload_bits])
    return {name: values[0].item() if isinstance(values[0], np.generic) else values[0]
            for name, values in priced.items()}
