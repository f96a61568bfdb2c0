"""Pricing workloads on hardware, vectorised: latency, throughput, device energy and its parts.

Batch: a roofline device with `batch` B runs B frames per head call. Latency is one call's time
(every frame of the batch waits for it); stage 1 then sustains B / head_s frames per second, so
throughput = 1 / max(head_s / B, encode_s + link_s), and the device's inference energy per frame
is the call's energy / B.

Timing runs layer by layer: the head's time is the sum over its units of each unit's bound on
the device (compute, or its weight and feature traffic), plus an analytic coder as one more
layer; a unit's weights cannot be fetched while an earlier unit computes (the on-chip buffer does
not hold a whole network's weights). The tail runs the same way on the server. Energy is
additive, so per-unit and whole-head energies agree. The device is a two-stage pipeline
(inference; encode + transmit, hwmodels.pipeline). Head stages are priced once per distinct
(split, sparsity) pair and gathered to the points; the loop runs over the few hardware
combinations, never over points.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from explorer.cost.hardware import Hardware
from explorer.cost.points import DesignPoints
from explorer.cost.workload import UnitLoads, Workload, workload
from explorer.profile.table import SplitProfile
from hwmodels import Device, Link, StageCost, two_stage_pipeline
from hwmodels.roofline import RooflineDevice
from splitbase import HardwareModelError, StudyError

CHUNK = 1 << 16  # points priced together: temporaries stay in cache (6x faster than 1e6 at once)


def _units(device: Device, loads: UnitLoads) -> StageCost:
    """Each unit's cost; a roofline that prices by layer class gets the loads by class."""
    if isinstance(device, RooflineDevice) and device.per_layer_class:
        if loads.classes is None:
            raise HardwareModelError(f"preset {device.name!r} prices by layer class (per_layer_class), but "
                                     "this workload has no per-class loads (a candidate's traced units)")
        return device.inference_by_class(loads.classes)
    return device.inference(loads.macs, loads.weight_bytes, loads.activation_bytes)


def _frames_per_call(device: Device) -> float:
    """Frames one head call runs: a roofline's `batch`, else 1."""
    return float(device.batch) if isinstance(device, RooflineDevice) else 1.0


def _layer_by_layer(device: Device, loads: UnitLoads, part: np.ndarray, coder_macs: np.ndarray) -> StageCost:
    """Sum of per-unit costs of each part, gathered to the points, plus the coder as one layer."""
    units = _units(device, loads)
    coder = device.inference(coder_macs, 0.0, 0.0)
    time = np.broadcast_to(units.time_s, loads.macs.shape).sum(axis=1)[part] + coder.time_s
    energy = {name: np.broadcast_to(joules, loads.macs.shape).sum(axis=1)[part]
              + coder.energy_j[name] for name, joules in units.energy_j.items()}
    return StageCost(time_s=time, energy_j=energy)


def transmit(link: Link, *, bits: np.ndarray, real_values: np.ndarray, analog: np.ndarray,
             uncoded: np.ndarray) -> StageCost:
    """Airtime and radio energy of each point's payload: its bits through the link's channel code,
    its bits uncoded where it was trained through the channel's errors, or its real values on the
    analog channel (arrays of one length)."""
    sent, analog = link.send_bits(bits), np.asarray(analog, dtype=bool)
    for where, how in ((np.asarray(uncoded, dtype=bool) & ~analog, lambda: link.send_uncoded(bits)),
                       (analog, lambda: link.send_analog(real_values))):
        if where.any():
            other = how()
            sent = StageCost(time_s=np.where(where, other.time_s, sent.time_s),
                             energy_j={part: np.where(where, other.energy_j[part], sent.energy_j[part])
                                       for part in sent.energy_j})
    return sent


def price(load: Workload, hardware: Hardware) -> dict[str, np.ndarray]:
    """Latency (s), throughput (frames/s), device energy (J) with its components, and feasibility
    (with the reason where a head does not fit) of every point."""
    device, server = hardware.device, hardware.server
    frames = _frames_per_call(device)
    head = _layer_by_layer(device, load.device, load.part, load.coder_layer_macs)
    cost = two_stage_pipeline(
        head=StageCost(time_s=head.time_s, energy_j={k: j / frames for k, j in head.energy_j.items()}),
        encode=device.encode(load.encoded_pixels),
        transmit=transmit(hardware.link, bits=load.sent_bits, real_values=load.sent_real_values,
                          analog=load.analog, uncoded=load.uncoded),
        tail=_layer_by_layer(server, load.server, load.part, load.coder_layer_macs),
    )
    throughput, inference_bound = cost.throughput_fps, cost.inference_bound
    if frames != 1:  # a call runs `frames` frames: stage 1 sustains frames / head_s
        per_frame = cost.head_s / frames
        slowest = np.maximum(per_frame, cost.stage2_s)
        throughput = np.divide(1.0, slowest, out=np.full(slowest.shape, np.inf), where=slowest > 0.0)
        inference_bound = per_frame >= cost.stage2_s
    feasible, reasons = _memory(device, load)
    columns = {
        "head_s": cost.head_s, "encode_s": cost.encode_s, "link_s": cost.link_s,
        "tail_s": cost.tail_s, "latency_s": cost.latency_s, "throughput_fps": throughput,
        "energy_j": cost.energy_j, "server_energy_j": cost.server_energy_j,
        "inference_bound": inference_bound, "feasible": feasible,
    }
    for part, joules in cost.energy_breakdown_j.items():
        columns[f"energy_{part}_j"] = joules
    columns["infeasible_reason"] = reasons
    return columns


def _memory(device: Device, load: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Whether each point's head (and its sized encoder's weights) fits the device, and why not.

    The check depends on the (split, sparsity) pair and the encoder's weights only: it runs
    once per distinct combination and is gathered to the points."""
    coder, coder_index = np.unique(load.coder_weight_bytes, return_inverse=True)
    parts = len(load.part_weight_bytes)
    keys, inverse = np.unique(coder_index.ravel() * parts + load.part, return_inverse=True)
    part, coder_weights = keys % parts, coder[keys // parts]
    check = device.memory_check(load.part_weight_bytes[part] + coder_weights, load.part_peak_activation_bytes[part])
    feasible = np.broadcast_to(check.feasible, keys.shape)
    reasons = np.full(keys.shape, "", dtype=object)
    for index in np.flatnonzero(~feasible):
        reasons[index] = check.reason((index,))
    return feasible[inverse.ravel()], reasons[inverse.ravel()]


def price_points(profile: SplitProfile, points: DesignPoints, hardware: Hardware, *,
                 chunk: int = CHUNK) -> dict[str, np.ndarray]:
    """Workload and price columns of every point, computed chunk by chunk."""
    parts = []
    for start in range(0, len(points), chunk):
        load = workload(profile, points.subset(slice(start, start + chunk)))
        parts.append({**load.columns(), **price(load, hardware)})
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def evaluate(profile: SplitProfile, points: DesignPoints, hardware: list[Hardware]) -> pd.DataFrame:
    """Price every design point on every hardware combination: one row per (point, hardware)."""
    if not hardware:
        raise StudyError("no hardware combination to evaluate")
    if len(points) == 0:
        raise StudyError("the grid has no design points")
    if np.any((points.split < -1) | (points.split > len(profile.names) - 2)):
        raise StudyError(f"split points must be in -1..{len(profile.names) - 2}")
    if np.any((points.sparsity < 0) | (points.sparsity >= 1)):
        raise StudyError("sparsity must be in [0, 1)")
    base = {
        "model": profile.model,
        "split": points.split,
        "split_name": np.asarray(profile.names, dtype=object)[points.split + 1],
        "sparsity": points.sparsity,
        "codec": np.asarray([c.label for c in points.codecs], dtype=object)[points.codec],
        "codec_ratio": np.asarray([c.ratio for c in points.codecs])[points.codec],
    }
    # a bar only when pricing lasts (a large grid on many hardware combinations), never in a log
    combinations = tqdm(hardware, desc=f"pricing {len(points)} points", unit="hardware", disable=None, delay=1.0,
                        leave=False)
    frames = [pd.DataFrame({**base, "device": hw.device_name, "link": hw.link_name, "server": hw.server_name,
                            **price_points(profile, points, hw)}) for hw in combinations]
    return pd.concat(frames, ignore_index=True)
