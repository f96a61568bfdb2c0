"""The workload of design points: what each one asks of the device, the link and the server.

Workload model (units: MACs, bytes, bits, elements per frame):

- Sparsity s prunes the head of split k as the search's candidates are pruned (three-step and,
  in the head, two-step: netmodels.pruning.plan_pruning(model, k, scope="head"), feature
  included, at s): every prunable layer of the head loses pruned_count(s, C) of its C output
  channels (round(s C), halves up, at most C - 1), and its consumer the matching inputs. The
  profile's record of the plans (explorer.profile.pruning.HeadPruning) gives every unit's work
  as its unpruned work plus terms, each a traced layer's share times the keep fractions
  (C - d) / C of the groups it touches: a conv's MACs and weight matrix scale with the keep of
  its input times that of its output (a ResNet block's convs have one pruned side: the residual
  stream, the stem feeding it and the block output are not pruned), reads with the input's,
  writes, biases and BatchNorm with the output's; a residual head's feature selection adds its
  copy (and the scatter, where the head runs past the block). MACs, weight bytes (parameters x
  weight bits / 8), activation bytes, their per-class split, the feature sent and the head's peak
  activation bytes are those of the built, physically pruned head (explorer.cost.candidate
  prices it as built) up to float rounding; the tail is priced unpruned. Priced for all (split,
  sparsity) pairs at once (numpy, a loop over units only).
  A model the pruner does not plan (a traced graph, netmodels.graph; a layer run twice) keeps
  the rule of thumb: unit 0's MACs and weights scale by (1 - s), later units' by (1 - s)^2,
  features and activation traffic by (1 - s), the result (last unit's output) never.
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
    (0 where the coder is among the units). The *_macs totals: module docstring. `uncoded`: the
    points whose bits go over the link's raw channel uses without its channel code (a candidate
    trained through the channel's errors: netmodels.candidate.profile.CandidateProfile.uncoded)."""

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
    uncoded: np.ndarray
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


@dataclass(frozen=True)
class _PrunedHead:
    """Every unit's work with the head of each part pruned, arrays (parts, units) from unit 0 on
    (the tail's units unpruned): MACs, parameters, activation elements; `classes` by layer class
    (parts, units, classes, CLASS_QUANTITIES) or None; `feature_keep` (parts,): the fraction of
    the feature's elements (and channels) sent; `peak_bytes` (parts,): the head's largest pair of
    a unit's input and output."""

    macs: np.ndarray
    params: np.ndarray
    activation_elements: np.ndarray
    classes: np.ndarray | None
    feature_keep: np.ndarray
    peak_bytes: np.ndarray


def _unpruned(profile: SplitProfile) -> tuple[np.ndarray, np.ndarray | None]:
    """Every unit's work (units, UNIT_QUANTITIES) and by class (units, classes, CLASS_QUANTITIES)."""
    units = np.stack([profile.unit_macs, profile.unit_params, profile.activation_elements,
                      profile.feature_elements], axis=1)[1:].astype(float)
    counts = profile.classes
    if counts is None:
        return units, None
    fields = (counts.macs, counts.weight_elements, counts.activation_elements, counts.kernels)
    return units, np.stack(fields, axis=-1)[1:].astype(float)


def pruned_counts(sparsity: np.ndarray, channels: np.ndarray) -> np.ndarray:
    """Channels the pruner removes of `channels` (G,) at each `sparsity` (P,): arrays (P, G),
    netmodels.pruning.pruned_count vectorised (round(s C), halves up, at most C - 1)."""
    return np.minimum(channels - 1, np.floor(sparsity[:, None] * channels + 0.5))


def _exact_head(profile: SplitProfile, rows: np.ndarray, sparsity: np.ndarray) -> _PrunedHead:
    """The head of each part priced by its pruning plan (explorer.profile.pruning.HeadPruning)."""
    record = profile.pruning
    channels = record.channels.astype(float)
    removed = np.where(record.active[rows], pruned_counts(sparsity, channels), 0.0)
    columns = np.concatenate([np.ones((len(rows), 1)), (channels - removed) / channels, removed > 0], axis=1)
    factor = columns[:, record.first] * columns[:, record.second] - record.base  # (parts, terms)
    units, classes = _unpruned(profile)
    units = np.broadcast_to(units, (len(rows), *units.shape)).copy()
    classes = None if classes is None else np.broadcast_to(classes, (len(rows), *classes.shape)).copy()
    for row in np.unique(record.unit):  # a loop over units, never over parts
        terms = record.unit == row
        units[:, row - 1] += factor[:, terms] @ record.values[terms]
        if classes is not None:
            classes[:, row - 1] += np.tensordot(factor[:, terms], record.class_values[terms], axes=1)
    feature = record.feature[rows]
    feature_keep = np.where(feature >= 0, columns[np.arange(len(rows)), 1 + np.maximum(feature, 0)], 1.0)
    return _PrunedHead(units[..., 0], units[..., 1], units[..., 2], classes, feature_keep,
                       _peak_bytes(profile, rows, units[..., 3]))


def _peak_bytes(profile: SplitProfile, rows: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """The head's peak activation bytes, given every unit's output elements (parts, units): a unit
    holds its input and its output at once; the head needs the largest such pair."""
    width = np.full(len(profile.names), profile.bits.feature_bits / 8)  # bytes per element, by row
    width[0] = profile.bits.input_bits / 8  # the image
    image = np.full((len(rows), 1), float(profile.feature_elements[0]))
    sizes = np.concatenate([image, outputs], axis=1) * width
    live = np.concatenate([np.zeros((len(rows), 1)), sizes[:, :-1] + sizes[:, 1:]], axis=1)
    return np.maximum.accumulate(live, axis=1)[np.arange(len(rows)), rows]


def _rule_head(profile: SplitProfile, rows: np.ndarray, sparsity: np.ndarray) -> _PrunedHead:
    """The rule for a model the pruner does not plan (module docstring): unit 0's MACs and
    weights scale by keep = 1 - s, later units' by keep^2, activations and features by keep."""
    keep = 1.0 - sparsity
    first = np.arange(1, len(profile.names))[None, :] == 1
    scale = np.where(first, keep[:, None], keep[:, None] ** 2)
    units, classes = _unpruned(profile)
    if classes is not None:
        classes = classes * np.stack([scale, scale, np.broadcast_to(keep[:, None], scale.shape),
                                      np.ones_like(scale)], axis=-1)[:, :, None, :]
    feature_keep = np.where((rows >= 1) & (rows < len(profile.names) - 1), keep, 1.0)
    live = np.concatenate([[0.0], profile.feature_bytes[:-1] + profile.feature_bytes[1:]])
    return _PrunedHead(units[:, 0] * scale, units[:, 1] * scale, units[:, 2] * keep[:, None], classes,
                       feature_keep, np.maximum.accumulate(live)[rows] * feature_keep)


def _unit_loads(profile: SplitProfile, rows: np.ndarray, head: _PrunedHead) -> tuple[UnitLoads, UnitLoads]:
    """Head (units 0..k, pruned) and tail (units k+1..last) loads for profile rows `rows`."""
    units = np.arange(1, len(profile.names))  # profile rows of the units
    in_head = units[None, :] <= rows[:, None]
    weight, feature = profile.bits.weight / 8, profile.bits.feature_bits / 8
    head_classes, tail_classes = _class_loads(profile, in_head, head)
    macs, params, activations = profile.unit_macs[units], profile.unit_params[units], profile.activation_elements[units]
    return (UnitLoads(np.where(in_head, head.macs, 0.0), np.where(in_head, head.params * weight, 0.0),
                      np.where(in_head, head.activation_elements * feature, 0.0), head_classes),
            UnitLoads(np.where(in_head, 0.0, macs), np.where(in_head, 0.0, params * weight),
                      np.where(in_head, 0.0, activations * feature), tail_classes))


def _class_loads(profile: SplitProfile, in_head: np.ndarray,
                 head: _PrunedHead) -> tuple[ClassLoads | None, ClassLoads | None]:
    """`_unit_loads` split by layer class (arrays (parts, units, classes)), pruned as the units."""
    if profile.classes is None:
        return None, None
    unpruned = _unpruned(profile)[1]
    widths = np.array([1.0, profile.bits.weight / 8, profile.bits.feature_bits / 8, 1.0])
    mask = in_head[..., None]
    head_loads = ClassLoads(*(np.where(mask, head.classes[..., i] * widths[i], 0.0) for i in range(4)))
    tail_loads = ClassLoads(*(np.where(mask, 0.0, unpruned[..., i] * widths[i]) for i in range(4)))
    return head_loads, tail_loads


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
    sparsity = sparsities[keys // rows]
    pruned = (_exact_head if profile.pruning is not None else _rule_head)(profile, k, sparsity)
    head, tail = _unit_loads(profile, k, pruned)
    feature_keep, peak = pruned.feature_keep, pruned.peak_bytes
    elements = profile.feature_elements[k] * feature_keep
    raw_bits = elements * np.where(k == 0, profile.bits.input_bits, profile.bits.feature_bits)
    float32_bits = elements * np.where(k == 0, INPUT_IMAGE_BITS, FLOAT32_BITS)
    flat = np.array([len(shape) != 3 for shape in profile.feature_shapes])[k]
    channels = np.array([shape[0] for shape in profile.feature_shapes])[k] * feature_keep
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
        uncoded=np.zeros(len(part), dtype=bool),  # an analytic codec knows no channel it was trained through
        float32_feature_bits=float32_bits[part],
    )
