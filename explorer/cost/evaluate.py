"""The cost evaluator: a profile x a grid of design points, priced on hardware, as arrays.

A design point is (split point k, head sparsity s, codec with its compression ratio r) on one
(device, link[:mode], server). Points are flat numpy arrays; the workload of every point is
computed by indexing the profile's per-split arrays, then each hardware combination prices all
points at once (the loop runs over the few hardware combinations, never over points).

Workload model (units: MACs, bytes, bits, elements per frame):

- Sparsity s prunes a fraction s of output channels in every prunable layer of the head (001's
  channel pruning). A layer's MACs and weights scale with its output and its input channels, so
  unit 0 (whose inputs are the image) scales by (1 - s) and later units by (1 - s)^2; features
  and activation traffic scale by (1 - s). The last unit's output (the result) is never pruned.
  This is the analytic approximation used by `sweep`; `search` prices the candidate as built.
- The stored feature has `elements x width` raw bits (width = the profile's activation bits; the
  input image's bits for k = -1).
- Codecs: `none` sends the raw bits; `quant` sends elements x bits; `rle-huffman` and `jpeg` send
  raw bits / r and run the device's JPEG encoder over every element (004: RLE + Huffman is the
  JPEG encoder's back end); `learned` is a BottleNet++-style conv encoder that sends E' values,
  E' = raw bits / (r x bits) for digital values, E' = elements / r for analog values (two real
  values per complex channel use, priced by the link), and adds E' x C x kernel^2 MACs to the
  head (encoder) and as many to the tail (decoder), C the feature's channels (a flat feature is
  encoded by a dense layer: E' x elements MACs).

Timing runs layer by layer: the head's time is the sum over its units of each unit's bound on
the device (compute, or its weight and feature traffic), plus the encoder as one more layer; a
unit's weights cannot be fetched while an earlier unit computes (the on-chip buffer does not hold
a whole network's weights). The tail runs the same way on the server. Energy is additive, so
per-unit and whole-head energies agree. Head stages are priced once per distinct (split,
sparsity) pair and gathered to the points.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from splitbase import StudyError
from explorer.profile.table import SplitProfile
from hwmodels import EdgeDevice, Link, StageCost, two_stage_pipeline

CodecKind = Literal["none", "quant", "rle-huffman", "jpeg", "learned"]
RATIO_CODECS = ("rle-huffman", "jpeg", "learned")


@dataclass(frozen=True)
class Codec:
    """An analytic codec choice. `ratio` divides the stored feature's bits (rle-huffman, jpeg,
    learned digital) or elements (learned analog); `bits` is bits per sent value (quant, learned;
    None for learned analog values); `name` labels it in results (default: kind and bits)."""

    kind: CodecKind
    ratio: float = 1.0
    bits: int | None = None
    kernel: int = 2
    name: str | None = None

    @property
    def analog(self) -> bool:
        return self.kind == "learned" and self.bits is None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "quant":
            return f"quant{self.bits}"
        if self.kind == "learned":
            return f"learned-{'analog' if self.analog else f'{self.bits}bit'}"
        return self.kind


@dataclass(frozen=True)
class DesignPoints:
    """Flat arrays of equal length N: split index (-1..last), sparsity, index into `codecs`."""

    split: np.ndarray
    sparsity: np.ndarray
    codec: np.ndarray
    codecs: tuple[Codec, ...]

    def __len__(self) -> int:
        return len(self.split)

    @classmethod
    def product(cls, *, splits, sparsities, codecs: tuple[Codec, ...]) -> "DesignPoints":
        """Every combination of split, sparsity and codec (the Cartesian grid)."""
        split, sparsity, codec = np.meshgrid(np.asarray(splits, dtype=np.int64),
                                             np.asarray(sparsities, dtype=float),
                                             np.arange(len(codecs)), indexing="ij")
        return cls(split.ravel(), sparsity.ravel(), codec.ravel(), tuple(codecs))

    def concat(self, other: "DesignPoints") -> "DesignPoints":
        offset = len(self.codecs)
        return DesignPoints(np.concatenate([self.split, other.split]),
                            np.concatenate([self.sparsity, other.sparsity]),
                            np.concatenate([self.codec, other.codec + offset]),
                            self.codecs + other.codecs)


@dataclass(frozen=True)
class UnitLoads:
    """Per-unit work of a set of partial networks: arrays (n_parts, n_units), zero where a unit
    does not belong to the part. Priced unit by unit, summed along axis 1."""

    macs: np.ndarray
    weight_bytes: np.ndarray
    activation_bytes: np.ndarray


@dataclass(frozen=True)
class Workload:
    """What every design point asks of the hardware, per frame (arrays of length N).

    `head` and `tail` hold per-unit loads of the distinct (split, sparsity) pairs; `part[i]` is
    the pair of point i. Totals (`head_macs`...) include the encoder/decoder."""

    head: UnitLoads
    tail: UnitLoads
    part: np.ndarray
    part_weight_bytes: np.ndarray
    part_peak_activation_bytes: np.ndarray
    head_macs: np.ndarray
    head_weight_bytes: np.ndarray
    head_activation_bytes: np.ndarray
    peak_activation_bytes: np.ndarray
    tail_macs: np.ndarray
    tail_weight_bytes: np.ndarray
    encoder_macs: np.ndarray
    encoded_pixels: np.ndarray
    raw_feature_bits: np.ndarray
    sent_bits: np.ndarray
    sent_real_values: np.ndarray
    analog: np.ndarray
    float32_feature_bits: np.ndarray = field(repr=False)

    @property
    def compression_vs_float32(self) -> np.ndarray:
        """DESIGN.md's ratio: raw float32 feature (8-bit image at k = -1) bits / bits sent;
        analog values count as 32-bit reals."""
        sent = np.where(self.analog, 32.0 * self.sent_real_values, self.sent_bits)
        return np.divide(self.float32_feature_bits, sent, out=np.full(sent.shape, np.inf),
                         where=sent > 0)


def _codec_coefficients(codecs: tuple[Codec, ...]) -> dict[str, np.ndarray]:
    """Per-codec coefficients that turn the workload into sums of products (one pass each):

    values = ceil(elements x per_element + raw_bits x per_raw_bit)   (learned codecs only)
    sent_bits = raw_bits x raw + elements x element + values x value
    """
    def column(rule) -> np.ndarray:
        return np.array([float(rule(c)) for c in codecs])

    learned_digital = lambda c: c.kind == "learned" and not c.analog  # noqa: E731
    return {
        "per_element": column(lambda c: 1 / c.ratio if c.analog else 0),
        "per_raw_bit": column(lambda c: 1 / (c.ratio * c.bits) if learned_digital(c) else 0),
        "raw": column(lambda c: 1 if c.kind == "none" else 1 / c.ratio if c.kind in ("rle-huffman", "jpeg") else 0),
        "element": column(lambda c: c.bits if c.kind == "quant" else 0),
        "value": column(lambda c: c.bits if learned_digital(c) else 0),
        "encoded": column(lambda c: c.kind in ("rle-huffman", "jpeg")),
        "analog": np.array([c.analog for c in codecs]),
        "kernel_area": column(lambda c: c.kernel**2),
    }


def _unit_loads(profile: SplitProfile, rows: np.ndarray, keep: np.ndarray) -> tuple[UnitLoads, UnitLoads]:
    """Head (units 0..k, pruned) and tail (units k+1..last) loads for profile rows `rows`."""
    units = np.arange(1, len(profile.names))  # profile rows of the units
    in_head = units[None, :] <= rows[:, None]
    first = units[None, :] == 1
    scale = np.where(first, keep[:, None], keep[:, None] ** 2)  # MACs and weights
    macs, weights = profile.unit_macs[units], profile.unit_weight_bytes[units]
    activations = profile.activation_bytes[units]
    head = UnitLoads(np.where(in_head, macs * scale, 0.0), np.where(in_head, weights * scale, 0.0),
                     np.where(in_head, activations * keep[:, None], 0.0))
    tail = UnitLoads(np.where(in_head, 0.0, macs), np.where(in_head, 0.0, weights),
                     np.where(in_head, 0.0, activations))
    return head, tail


def workload(profile: SplitProfile, points: DesignPoints) -> Workload:
    """The per-frame workload of every design point (see the module doc for the model)."""
    # Distinct (split, sparsity) pairs ("parts") through one integer key: a 1-D unique is far
    # cheaper than np.unique(axis=0) on a million rows. Everything that depends on the pair only
    # is computed per part and gathered.
    sparsities, sparsity_index = np.unique(points.sparsity, return_inverse=True)
    rows = len(profile.names)
    keys, part = np.unique(sparsity_index.ravel() * rows + points.split + 1, return_inverse=True)
    part = part.ravel()
    k = keys % rows  # profile row of each part (row 0 is k = -1)
    keep = 1.0 - sparsities[keys // rows]
    head, tail = _unit_loads(profile, k, keep)
    feature_keep = np.where((k >= 1) & (k < rows - 1), keep, 1.0)
    elements = profile.feature_elements[k] * feature_keep
    raw_bits = elements * np.where(k == 0, profile.bits.input_bits, profile.bits.feature_bits)
    float32_bits = elements * np.where(k == 0, 8, 32)
    flat = np.array([len(shape) != 3 for shape in profile.feature_shapes])[k]
    channels = np.array([shape[0] for shape in profile.feature_shapes])[k] * feature_keep
    # A unit holds its input and its output at once; the head needs the largest such pair.
    live = np.concatenate([[0.0], profile.feature_bytes[:-1] + profile.feature_bytes[1:]])
    peak = np.maximum.accumulate(live)[k] * feature_keep
    weights = head.weight_bytes.sum(axis=1)

    co = {name: column[points.codec] for name, column in _codec_coefficients(points.codecs).items()}
    point_elements, point_raw_bits = elements[part], raw_bits[part]
    values = np.ceil(point_elements * co["per_element"] + point_raw_bits * co["per_raw_bit"])
    # a learned coder is a conv over the feature's channels, or a dense layer on a flat feature
    fan_in = np.where(flat[part], point_elements, channels[part] * co["kernel_area"])
    coder_macs = values * fan_in
    return Workload(
        head=head, tail=tail, part=part, part_weight_bytes=weights,
        part_peak_activation_bytes=peak,
        head_macs=head.macs.sum(axis=1)[part] + coder_macs,
        head_weight_bytes=weights[part],
        head_activation_bytes=head.activation_bytes.sum(axis=1)[part],
        peak_activation_bytes=peak[part],
        tail_macs=tail.macs.sum(axis=1)[part] + coder_macs,
        tail_weight_bytes=tail.weight_bytes.sum(axis=1)[part],
        encoder_macs=coder_macs,
        encoded_pixels=point_elements * co["encoded"],
        raw_feature_bits=point_raw_bits,
        sent_bits=point_raw_bits * co["raw"] + point_elements * co["element"] + values * co["value"],
        sent_real_values=values * co["analog"],
        analog=co["analog"],
        float32_feature_bits=float32_bits[part],
    )


def _layer_by_layer(device: EdgeDevice, loads: UnitLoads, part: np.ndarray,
                    coder_macs: np.ndarray) -> StageCost:
    """Sum of per-unit costs of each part, gathered to the points, plus the coder as one layer."""
    units = device.inference(loads.macs, loads.weight_bytes, loads.activation_bytes)
    coder = device.inference(coder_macs, 0.0, 0.0)
    time = np.broadcast_to(units.time_s, loads.macs.shape).sum(axis=1)[part] + coder.time_s
    energy = {name: np.broadcast_to(joules, loads.macs.shape).sum(axis=1)[part]
              + coder.energy_j[name] for name, joules in units.energy_j.items()}
    return StageCost(time_s=time, energy_j=energy)


def _transmit(link: Link, load: Workload) -> StageCost:
    digital = link.send_bits(load.sent_bits)
    if not load.analog.any():
        return digital
    analog = link.send_analog(load.sent_real_values)
    return StageCost(
        time_s=np.where(load.analog, analog.time_s, digital.time_s),
        energy_j={part: np.where(load.analog, analog.energy_j[part], digital.energy_j[part])
                  for part in digital.energy_j})


@dataclass(frozen=True)
class Hardware:
    """One hardware combination: named device, link (with its mode) and server models."""

    device_name: str
    device: EdgeDevice
    link_name: str
    link: Link
    server_name: str
    server: EdgeDevice


def price(load: Workload, hardware: Hardware) -> dict[str, np.ndarray]:
    """Latency, throughput, energy (with its components) and feasibility of every point."""
    device, server = hardware.device, hardware.server
    cost = two_stage_pipeline(
        head=_layer_by_layer(device, load.head, load.part, load.encoder_macs),
        encode=device.encode(load.encoded_pixels),
        transmit=_transmit(hardware.link, load),
        tail=_layer_by_layer(server, load.tail, load.part, load.encoder_macs),
    )
    # Whether a head fits depends on its (split, sparsity) pair only: check the pairs.
    check = device.memory_check(load.part_weight_bytes, load.part_peak_activation_bytes)
    part_feasible = np.broadcast_to(check.feasible, load.part_weight_bytes.shape)
    feasible = part_feasible[load.part]
    columns = {
        "head_s": cost.head_s, "encode_s": cost.encode_s, "link_s": cost.link_s,
        "tail_s": cost.tail_s, "latency_s": cost.latency_s, "throughput_fps": cost.throughput_fps,
        "energy_j": cost.energy_j, "server_energy_j": cost.server_energy_j,
        "inference_bound": cost.inference_bound, "feasible": feasible,
    }
    for part, joules in cost.energy_breakdown_j.items():
        columns[f"energy_{part}_j"] = joules
    part_reasons = np.full(part_feasible.shape, "", dtype=object)
    for index in np.flatnonzero(~part_feasible):
        part_reasons[index] = check.reason((index,))
    columns["infeasible_reason"] = part_reasons[load.part]
    return columns


CHUNK = 1 << 16  # points priced together: temporaries stay in cache (6x faster than 1e6 at once)


def subset(points: DesignPoints, index: slice | np.ndarray) -> DesignPoints:
    return DesignPoints(points.split[index], points.sparsity[index], points.codec[index],
                        points.codecs)


def workload_columns(load: Workload) -> dict[str, np.ndarray]:
    """The workload as result columns (per frame: MACs, bytes, bits, values)."""
    return {"head_macs": load.head_macs, "encoder_macs": load.encoder_macs,
            "tail_macs": load.tail_macs, "head_weight_bytes": load.head_weight_bytes,
            "raw_feature_bits": load.raw_feature_bits, "sent_bits": load.sent_bits,
            "sent_real_values": load.sent_real_values,
            "compression_vs_float32": load.compression_vs_float32}


def price_points(profile: SplitProfile, points: DesignPoints, hardware: Hardware, *,
                 chunk: int = CHUNK) -> dict[str, np.ndarray]:
    """Workload and price columns of every point, computed chunk by chunk."""
    parts = []
    for start in range(0, len(points), chunk):
        load = workload(profile, subset(points, slice(start, start + chunk)))
        parts.append({**workload_columns(load), **price(load, hardware)})
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
    frames = []
    for hw in hardware:
        frame = pd.DataFrame({**base, "device": hw.device_name, "link": hw.link_name,
                              "server": hw.server_name, **price_points(profile, points, hw)})
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
