"""The codec a design point uses, as the analytic cost model prices it (the codec family is
netmodels.codecs.registry.CODECS; each entry's `pricing` says how it is sized)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netmodels.codecs import CODECS, Pricing
from netmodels.methods import EncoderSize


@dataclass(frozen=True)
class CodecChoice:
    """A codec of the grid: `codec` (a CODECS name) with its compression `ratio` (for a codec
    whose pricing takes one), `bits` per sent value (per-element and learned codecs; None for
    learned analog values), the learned encoder's `kernel`, and `name` labelling it in results
    (default: the codec and its bits). `size`: a learned encoder sized by its method for one
    feature (netmodels.candidate.size): its values, weights and MACs replace the generic conv
    encoder's, so such a choice belongs to one (split, sparsity) only."""

    codec: str
    ratio: float = 1.0
    bits: int | None = None
    kernel: int = 2
    name: str | None = None
    size: EncoderSize | None = None

    @property
    def pricing(self) -> Pricing:
        return CODECS.get(self.codec).pricing

    @property
    def analog(self) -> bool:
        return self.pricing.sizing == "learned" and self.bits is None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.pricing.sizing == "per_element":
            return f"{self.codec}{self.bits}"
        if self.pricing.sizing == "learned":
            return f"{self.codec}-{'analog' if self.analog else f'{self.bits}bit'}"
        return self.codec


def coefficients(choices: tuple[CodecChoice, ...]) -> dict[str, np.ndarray]:
    """Per-codec coefficients that turn a workload into sums of products (one pass each),
    following each codec's Pricing (netmodels.codecs.registry):

        values    = ceil(elements x per_element + raw_bits x per_raw_bit)   (learned codecs only)
        sent_bits = raw_bits x raw + elements x element + values x value

    A sized encoder (`CodecChoice.size`) gives its values, MACs and weights (`sized_*`, where
    `sized` is set) instead of the formula's.
    """
    def column(rule) -> np.ndarray:
        return np.array([float(rule(c)) for c in choices])

    learned = lambda c: c.pricing.sizing == "learned"  # noqa: E731
    digital = lambda c: learned(c) and not c.analog  # noqa: E731
    return {
        "per_element": column(lambda c: 1 / c.ratio if c.analog else 0),
        "per_raw_bit": column(lambda c: 1 / (c.ratio * c.bits) if digital(c) else 0),
        "raw": column(lambda c: {"raw": 1.0, "ratio": 1 / c.ratio}.get(c.pricing.sizing, 0.0)),
        "element": column(lambda c: c.bits if c.pricing.sizing == "per_element" else 0),
        "value": column(lambda c: c.bits if digital(c) else 0),
        "encoded": column(lambda c: c.pricing.encoder_block),
        "analog": np.array([c.analog for c in choices]),
        "kernel_area": column(lambda c: c.kernel**2),
        "sized": np.array([c.size is not None for c in choices]),
        "sized_values": column(lambda c: c.size.sent_values if c.size else 0),
        "sized_macs": column(lambda c: c.size.macs if c.size else 0),
        "sized_weights": column(lambda c: c.size.weights if c.size else 0),
    }
