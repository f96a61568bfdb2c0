"""The workload of design points: what each one asks of the device, the link and the server.

Workload model (units: MACs, bytes, bits, elements per frame):

- Sparsity s prunes a fraction s of output channels in every prunable layer of the head (001's
  channel pruning). A layer's MACs and weights scale with its output and its input channels, so
  unit 0 (whose inputs are the image) scales by (1 - s) and later units by (1 - s)^2; features
  and activation traffic scale by (1 - s). The last unit's output (the result) is never pruned.
  This is the analytic approximation used by `sweep`; `search` prices the candidate as built
  (explorer.cost.candidate).
- The stored feature has `elements x width` raw bits (width = the profile's activation bits; the
  input image's bits for k = -1).
- The codec sizes what is sent by its Pricing (netmodels.codecs.registry; explorer.cost.codecs):
  the raw bits, elements x bits, raw bits / r, or a learned conv encoder that sends E' values,
  E' = raw bits / (r x bits) for digital values, E' = elements / r for analog values (two real
  values per complex channel use, priced by the link), and adds E' x C x kernel^2 MACs on the
  device (encoder) and as many on the server (decoder), C the feature's channels (a flat
  feature is encoded by a dense layer: E' x elements MACs). A codec on the encoder block runs
  the device's encoder over every element. An encoder its method has sized for the point's
  feature (explorer.cost.codecs.CodecChoice.size: netmodels.candidate.size) gives E', its MACs
  (decoder MACs: as many) and its weights, which the head's memory check adds to the head's;
  the generic encoder's weights are not counted.

head_macs and tail_macs count the head's and the tail's units alone; encoder_macs and
decoder_macs count the coder on each side (device MACs = head_macs + encoder_macs), the same
meaning as a built candidate's profile (netmodels.candidate.profile).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.cost.codecs import coefficients
from explorer.cost.points import DesignPoints
from explorer.profile.table import SplitProfile
from hwmodels.roofline import ClassLoads
from netmodels.channels import ANALOG_BITS_PER_VALUE
from netmodels.zoo import FLOAT32_BITS, INPUT_IMAGE_BITS


@dataclass(frozen=True)
class UnitLoads:
    """Per-unit work of a set of partial networks: arrays (n_parts, n_units), zero where a unit
    does not belong to the part. Priced unit by unit, summed along axis 1. `classes`: the same
    work split by layer class, arrays (n_parts, n_units, classes), for devices that price by
    class (hwmodels.roofline's per_layer_class); None where the profile has no classes."""

    macs: np.ndarray
    weight_bytes: np.ndarray
    activation_bytes: np.ndarray
    classes: ClassLoads | None = None


@dataclass(frozen=True)
class Workload:
    """What every design point asks of the hardware, per frame (arrays of length N).

    `device` and `server` hold per-unit loads of the distinct (split, sparsity) pairs (for a
    built candidate: its traced units, encoder and decoder among them); `part[i]` is the pair of
    point i. `coder_layer_macs`: an analytic coder's MACs, priced as one more layer on each side
    (0 where the coder is among the units). The *_macs totals: module docstring."""

    device: UnitLoads
    server: UnitLoads
    part: np.ndarray
    part_weight_bytes: np.ndarray
    part_peak_activation_bytes: np.ndarray
    head_macs: np.ndarray
    encoder_macs: np.ndarray
    decoder_macs: np.ndarray
    tail_macs: np.ndarray
    coder_layer_macs: np.ndarray
    head_weight_bytes: np.ndarray
    encoded_pixels: np.ndarray
    raw_feature_bits: np.ndarray
    sent_bits: np.ndarray
    sent_real_values: np.ndarray
    analog: np.ndarray
    coder_weight_bytes: np.ndarray
    float32_feature_bits: np.ndarray = field(repr=False)

    @property
    def compression_vs_float32(self) -> np.ndarray:
        """DESIGN.md's ratio: raw float32 feature (8-bit image at k = -1) bits / bits sent;
        analog values count as 32-bit reals."""
        sent = np.where(self.analog, ANALOG_BITS_PER_VALUE * self.sent_real_values, self.sent_bits)
        return np.divide(self.float32_feature_bits, sent, out=np.full(sent.shape, np.inf),
                         where=sent > 0)

    def columns(self) -> dict[str, np.ndarray]:
        """The workload as result columns (per frame: MACs, bytes, bits, values)."""
        return {"head_macs": self.head_macs, "encoder_macs": self.encoder_macs,
                "decoder_macs": self.decoder_macs, "tail_macs": self.tail_macs,
                "head_weight_bytes": self.head_weight_bytes, "raw_feature_bits": self.raw_feature_bits,
                "sent_bits": self.sent_bits, "sent_real_values": self.sent_real_values,
                "compression_vs_float32": self.compression_vs_float32}


def _unit_loads(profile: SplitProfile, rows: np.ndarray, keep: np.ndarray) -> tuple[UnitLoads, UnitLoads]:
    """Head (units 0..k, pruned) and tail (units k+1..last) loads for profile rows `rows`."""
    units = np.arange(1, len(profile.names))  # profile rows of the units
    in_head = units[None, :] <= rows[:, None]
    first = units[None, :] == 1
    scale = np.where(first, keep[:, None], keep[:, None] ** 2)  # MACs and weights
    macs, weights = profile.unit_macs[units], profile.unit_weight_bytes[units]
    activations = profile.activation_bytes[units]
    head_classes, tail_classes = _class_loads(profile, units, in_head, scale, keep)
    head = UnitLoads(np.where(in_head, macs * scale, 0.0), np.where(in_head, weights * scale, 0.0),
                     np.where(in_head, activations * keep[:, None], 0.0), head_classes)
    tail = UnitLoads(np.where(in_head, 0.0, macs), np.where(in_head, 0.0, weights),
                     np.where(in_head, 0.0, activations), tail_classes)
    return head, tail


def _class_loads(profile: SplitProfile, units: np.ndarray, in_head: np.ndarray, scale: np.ndarray,
                 keep: np.ndarray) -> tuple[ClassLoads | None, ClassLoads | None]:
    """`_unit_loads` split by layer class (arrays (parts, units, classes)); pruning scales each
    class as it scales the unit (operator calls are not pruned away)."""
    if profile.classes is None:
        return None, None
    counts = profile.classes
    macs = counts.macs[units].astype(float)
    weights = counts.weight_elements[units] * profile.bits.weight / 8
    activations = counts.activation_elements[units] * profile.bits.feature_bits / 8
    kernels = counts.kernels[units].astype(float)
    head_mask, scale3, keep3 = in_head[..., None], scale[..., None], keep[:, None, None]
    head = ClassLoads(np.where(head_mask, macs * scale3, 0.0), np.where(head_mask, weights * scale3, 0.0),
                      np.where(head_mask, activations * keep3, 0.0), np.where(head_mask, kernels, 0.0))
    tail = ClassLoads(*(np.where(head_mask, 0.0, value) for value in (macs, weights, activations, kernels)))
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
    float32_bits = elements * np.where(k == 0, INPUT_IMAGE_BITS, FLOAT32_BITS)
    flat = np.array([len(shape) != 3 for shape in profile.feature_shapes])[k]
    channels = np.array([shape[0] for shape in profile.feature_shapes])[k] * feature_keep
    # A unit holds its input and its output at once; the head needs the largest such pair.
    live = np.concatenate([[0.0], profile.feature_bytes[:-1] + profile.feature_bytes[1:]])
    peak = np.maximum.accumulate(live)[k] * feature_keep
    weights = head.weight_bytes.sum(axis=1)

    co = {name: column[points.codec] for name, column in coefficients(points.codecs).items()}
    point_elements, point_raw_bits = elements[part], raw_bits[part]
    values = np.where(co["sized"], co["sized_values"],
                      np.ceil(point_elements * co["per_element"] + point_raw_bits * co["per_raw_bit"]))
    # a learned coder is a conv over the feature's channels, or a dense layer on a flat feature
    fan_in = np.where(flat[part], point_elements, channels[part] * co["kernel_area"])
    coder_macs = np.where(co["sized"], co["sized_macs"], values * fan_in)
    return Workload(
        device=head, server=tail, part=part, part_weight_bytes=weights, part_peak_activation_bytes=peak,
        head_macs=head.macs.sum(axis=1)[part], encoder_macs=coder_macs, decoder_macs=coder_macs,
        tail_macs=tail.macs.sum(axis=1)[part], coder_layer_macs=coder_macs,
        head_weight_bytes=weights[part],
        encoded_pixels=point_elements * co["encoded"],
        raw_feature_bits=point_raw_bits,
        sent_bits=point_raw_bits * co["raw"] + point_elements * co["element"] + values * co["value"],
        sent_real_values=values * co["analog"],
        analog=co["analog"],
        coder_weight_bytes=co["sized_weights"] * profile.bits.weight / 8,
        float32_feature_bits=float32_bits[part],
    )
