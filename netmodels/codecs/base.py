"""The codec base class: what a feature (or input image) costs on the link, in real bytes.

A codec works on one sample (a C x H x W feature or a C x H x W uint8 image); the batch helpers
loop over the batch. What is counted (`Codec.bits`):

- the payload bytes, 8 bits each, exactly as they would be sent (a JPEG file, a Huffman table
  plus its bit stream, ...), and
- `header_bits`: side information a receiver needs that is not in the payload, i.e. a per-sample
  value range (float32 lo and/or hi: 32 bits each).

Not counted: the feature's shape and the codec's settings (bits, quality, fixed range), which
both ends know from the chosen split point and candidate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Union

import numpy as np
import torch
from torch import Tensor

from splitbase import ModelError

# How a feature's values are mapped to quantiser levels: "minmax" sends the sample's min and
# max (64 header bits), "max" sends only the max and keeps 0 at level 0 (32 bits; for ReLU
# features), a (lo, hi) pair is a range fixed in advance (0 bits; e.g. (0, 1) after a sigmoid).
Scale = Union[Literal["minmax", "max"], tuple[float, float]]


@dataclass(frozen=True)
class EncodedFeature:
    """One encoded sample: the bytes sent, plus what the decoder needs besides the payload.

    payload: the bytes sent; shape: the sample's shape (known to both ends, not counted);
    header: side information sent with the payload (e.g. {"lo": ..., "hi": ...}, float32
    values); header_bits: the bits that side information costs.
    """

    payload: bytes
    shape: tuple[int, ...]
    header: dict[str, float] = field(default_factory=dict)
    header_bits: int = 0

    @property
    def bits(self) -> int:
        """Bits sent for this sample: 8 * len(payload) + header_bits."""
        return 8 * len(self.payload) + self.header_bits


class Codec:
    """Base class: subclasses implement `encode` and `decode` for one sample.

    `input` says what the codec takes: "feature" (any float tensor, usually C x H x W) or
    "image" (the model input as uint8 C x H x W, for the split point k = -1). A codec is named
    and priced by its entry in netmodels.codecs.registry.CODECS.
    """

    input: ClassVar[Literal["feature", "image"]] = "feature"
    lossless: ClassVar[bool] = False  # decode(encode(x)) == x for every valid x

    def encode(self, x: Tensor) -> EncodedFeature:
        """Encode one sample (any device; it is copied to the CPU)."""
        raise NotImplementedError

    def decode(self, encoded: EncodedFeature) -> Tensor:
        """The decoded sample as a CPU tensor (float32 for features, uint8 for images)."""
        raise NotImplementedError

    def bits(self, encoded: EncodedFeature) -> int:
        """Bits this sample costs on the link: 8 * len(payload) + header_bits."""
        return encoded.bits

    def encode_batch(self, x: Tensor) -> list[EncodedFeature]:
        """Encode each sample of a batch (B, ...) separately."""
        return [self.encode(sample) for sample in x]

    def batch_bits(self, x: Tensor) -> np.ndarray:
        """Bits of each sample of a batch (B, ...), int64 array of shape (B,)."""
        return np.array([e.bits for e in self.encode_batch(x)], dtype=np.int64)

    def roundtrip(self, x: Tensor) -> tuple[Tensor, np.ndarray]:
        """(decoded batch on x's device, bits per sample): the link as the tail sees it."""
        encoded = self.encode_batch(x)
        decoded = torch.stack([self.decode(e) for e in encoded]).to(x.device)
        return decoded, np.array([e.bits for e in encoded], dtype=np.int64)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({options})"


def check_scale(scale: Scale) -> Scale:
    """Validate a Scale setting (see `Scale`)."""
    if scale in ("minmax", "max"):
        return scale
    if isinstance(scale, (tuple, list)) and len(scale) == 2 and float(scale[1]) > float(scale[0]):
        return (float(scale[0]), float(scale[1]))
    raise ModelError(f"scale must be 'minmax', 'max' or (lo, hi) with hi > lo, got {scale!r}")


def _f32(value: object) -> float:
    return float(np.float32(value))


def sample_range(x: Tensor, scale: Scale) -> tuple[float, float, dict[str, float], int]:
    """(lo, hi, header, header_bits) for one sample under `scale`; lo/hi rounded to float32.

    The values are rounded to float32 because that is what the header carries, and the encoder
    must quantise with the same numbers the decoder will use.
    """
    if scale == "minmax":
        lo, hi = _f32(x.min()), _f32(x.max())
        return lo, hi, {"lo": lo, "hi": hi}, 64
    if scale == "max":
        hi = _f32(x.max())
        return 0.0, hi, {"hi": hi}, 32
    lo, hi = scale  # type: ignore[misc]
    return _f32(lo), _f32(hi), {}, 0


def header_range(encoded: EncodedFeature, scale: Scale) -> tuple[float, float]:
    """The (lo, hi) the encoder used, from the header or the fixed scale."""
    if scale == "minmax":
        return encoded.header["lo"], encoded.header["hi"]
    if scale == "max":
        return 0.0, encoded.header["hi"]
    lo, hi = scale  # type: ignore[misc]
    return _f32(lo), _f32(hi)


def as_feature(x: Tensor) -> Tensor:
    """A detached float32 CPU copy of one feature sample."""
    if not torch.is_floating_point(x):
        raise ModelError(f"a feature codec takes a float tensor, got {x.dtype}")
    if x.numel() == 0:
        raise ModelError("cannot encode an empty feature")
    return x.detach().to("cpu", torch.float32)
