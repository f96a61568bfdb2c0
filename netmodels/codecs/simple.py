"""The two reference codecs: raw float32 ("none") and n-bit uniform quantisation ("quant")."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from netmodels.codecs.base import Codec, EncodedFeature, Scale, as_feature, check_scale, header_range, sample_range
from netmodels.codecs.bitio import pack_fixed, unpack_fixed
from netmodels.codecs.quantize import check_bits, dequantize, quantize
from splitbase import ModelError


class RawCodec(Codec):
    """The feature as raw float32 (little-endian): 32 bits per element, no header. Lossless."""

    lossless = True

    def encode(self, x: Tensor) -> EncodedFeature:
        x = as_feature(x)
        return EncodedFeature(x.numpy().astype("<f4").tobytes(), tuple(x.shape))

    def decode(self, encoded: EncodedFeature) -> Tensor:
        count = int(np.prod(encoded.shape))
        if len(encoded.payload) != 4 * count:
            raise ModelError(f"corrupt payload: {len(encoded.payload)} bytes, expected {4 * count}")
        values = np.frombuffer(encoded.payload, dtype="<f4").astype(np.float32)
        return torch.from_numpy(values.reshape(encoded.shape))


class QuantCodec(Codec):
    """n-bit uniform quantisation (paper 000 section III.B's quantiser over [lo, hi]), bit-packed.

    Bits per sample: ceil(elements * bits / 8) * 8 plus the range header (see base.Scale).
    Lossy on a float feature; exact on a feature that already lies on the quantiser's grid.
    """


    def __init__(self, bits: int = 8, *, scale: Scale = "minmax") -> None:
        self.bits_per_element = check_bits(bits)
        self.scale = check_scale(scale)

    def encode(self, x: Tensor) -> EncodedFeature:
        x = as_feature(x)
        lo, hi, header, header_bits = sample_range(x, self.scale)
        levels = quantize(x, self.bits_per_element, lo, hi).numpy().ravel()
        payload = pack_fixed(levels, self.bits_per_element)
        return EncodedFeature(payload, tuple(x.shape), header, header_bits)

    def decode(self, encoded: EncodedFeature) -> Tensor:
        count = int(np.prod(encoded.shape))
        levels = unpack_fixed(encoded.payload, self.bits_per_element, count).astype(np.int64)
        lo, hi = header_range(encoded, self.scale)
        return dequantize(torch.from_numpy(levels), self.bits_per_element, lo, hi).reshape(encoded.shape)
