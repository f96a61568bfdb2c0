"""The split pipeline: head on the device, feature encoded and sent, tail on the server.

Edge work is a 2-stage pipeline (004 §4.1): stage 1 = head inference, stage 2 = feature encoding +
transmission; frames overlap, so the device's throughput is 1 / max(T_stage1, T_stage2).
End-to-end latency of one frame is D_e2e = D_head + D_encode + D_link + D_tail (002 §III-D, with
004's encoding inside D_N). Device energy per frame = compute + buffer + DRAM + encoder + radio
(004 Fig. 8's breakdown); the server's energy is reported beside it, never added to the device's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from hwmodels.costs import Device, StageCost
from hwmodels.links import Link
from splitbase import HardwareModelError


@dataclass(frozen=True)
class PipelineCost:
    """Per-design-point cost of a split; every array has the broadcast shape of the inputs.

    head_s, encode_s, link_s, tail_s: stage times (s). stage1_s = head_s, stage2_s = encode_s + link_s.
    latency_s: D_e2e (s). throughput_fps: frames per second the device sustains.
    energy_j: device energy per frame (J); energy_breakdown_j: its components (compute, buffer,
    dram, encoder, radio, or inference for a roofline device). server_energy_j: the tail's energy.
    """

    head_s: np.ndarray
    encode_s: np.ndarray
    link_s: np.ndarray
    tail_s: np.ndarray
    stage1_s: np.ndarray
    stage2_s: np.ndarray
    latency_s: np.ndarray
    throughput_fps: np.ndarray
    energy_j: np.ndarray
    energy_breakdown_j: Mapping[str, np.ndarray]
    server_energy_j: np.ndarray

    @property
    def inference_bound(self) -> np.ndarray:
        """True where stage 1 (inference) sets the throughput, False where encode + transmit does."""
        return self.stage1_s >= self.stage2_s


def two_stage_pipeline(*, head: StageCost, encode: StageCost, transmit: StageCost, tail: StageCost) -> PipelineCost:
    """Combine the four stage costs into throughput, latency and device energy (see module doc)."""
    shape = np.broadcast_shapes(*(np.shape(s.time_s) for s in (head, encode, transmit, tail)))
    head_s, encode_s, link_s, tail_s = (np.broadcast_to(s.time_s, shape).astype(float)
                                        for s in (head, encode, transmit, tail))
    stage2_s = encode_s + link_s
    slowest = np.maximum(head_s, stage2_s)
    throughput = np.divide(1.0, slowest, out=np.full(shape, np.inf), where=slowest > 0.0)
    breakdown: dict[str, np.ndarray] = {}
    for stage in (head, encode, transmit):
        for part, joules in stage.energy_j.items():
            breakdown[part] = breakdown.get(part, np.zeros(shape)) + np.broadcast_to(joules, shape)
    energy = np.zeros(shape)
    for joules in breakdown.values():
        energy = energy + joules
    return PipelineCost(head_s=head_s, encode_s=encode_s, link_s=link_s, tail_s=tail_s, stage1_s=head_s,
                        stage2_s=stage2_s, latency_s=head_s + stage2_s + tail_s, throughput_fps=throughput,
                        energy_j=energy, energy_breakdown_j=breakdown,
                        server_energy_j=np.broadcast_to(tail.total_energy_j, shape).astype(float))


def split_cost(*, device: Device, link: Link, server: Device,
               head_macs: ArrayLike, head_weight_bytes: ArrayLike, head_activation_bytes: ArrayLike,
               tail_macs: ArrayLike, tail_weight_bytes: ArrayLike, tail_activation_bytes: ArrayLike,
               encoded_pixels: ArrayLike = 0.0, sent_bits: ArrayLike = 0.0,
               sent_real_values: ArrayLike | None = None) -> PipelineCost:
    """One call from workload counts to a PipelineCost.

    head_*/tail_*: MACs, weight bytes, feature bytes read+written of the device and server parts.
    encoded_pixels: feature samples the device JPEG-encodes (0: no encoding).
    sent_bits: digital payload; or sent_real_values for analog transmission (then leave sent_bits 0).
    """
    if sent_real_values is not None and np.any(np.asarray(sent_bits) != 0):
        raise HardwareModelError("split_cost: give sent_bits (digital) or sent_real_values (analog), not both")
    transmit = (link.send_analog(sent_real_values) if sent_real_values is not None
                else link.send_bits(sent_bits))
    return two_stage_pipeline(head=device.inference(head_macs, head_weight_bytes, head_activation_bytes),
                              encode=device.encode(encoded_pixels), transmit=transmit,
                              tail=server.inference(tail_macs, tail_weight_bytes, tail_activation_bytes))
