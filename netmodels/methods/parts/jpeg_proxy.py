"""JPEG of a feature inside the training graph, on the device: BottleNet's compression-aware training.

The `jpeg` codec (netmodels.codecs.image.JpegFeatureCodec) tiles a C x H x W feature into one
grey image, scales it to 8 bits over the sample's [min, max] and writes a JPEG with Pillow,
sample by sample on the CPU: exact, but far too slow (and a host round trip per step) to sit in
a GPU training loop. `JpegProxy` computes, vectorised on the device, what that round trip does
to the values: the same tiling and 8-bit scaling, then baseline JPEG's lossy steps on the grey
image (edge-replicated to whole 8 x 8 blocks, level shift by 128, 8 x 8 DCT-II, division by the
IJG luminance table scaled to `quality` and rounding, then dequantisation, inverse DCT,
rounding and clamping to 0..255). The entropy coding that follows in a real JPEG is lossless, so
it changes the size, not the values: sizes are measured with the real codec
(netmodels.candidate.build.measure_payload). What differs from Pillow's decode is libjpeg's integer
DCT arithmetic: within a level or two of 255 (tests/netmodels/test_bottlenetpp.py measures it).

The gradient is the straight-through identity, as BottleNet bypasses the non-differentiable
compressor in back-propagation.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from netmodels.codecs.image import check_quality, grid

# ITU-T T.81 Annex K, Table K.1: the luminance quantisation table, rows top to bottom.
LUMINANCE_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
BLOCK = 8


def quality_table(quality: int) -> Tensor:
    """The IJG (libjpeg jpeg_set_quality, baseline) luminance table for `quality` 1..100, float32 (8, 8)."""
    check_quality(quality)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    base = torch.tensor(LUMINANCE_TABLE, dtype=torch.int64)
    return ((base * scale + 50) // 100).clamp(1, 255).to(torch.float32)


def dct_matrix() -> Tensor:
    """Orthonormal 8-point DCT-II matrix D (float32): coefficients = D block D^T (T.81 A.3.3)."""
    k = torch.arange(BLOCK, dtype=torch.float64)
    d = torch.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / (2 * BLOCK)) * math.sqrt(2 / BLOCK)
    d[0] /= math.sqrt(2)
    return d.to(torch.float32)


def _round_half_away(x: Tensor) -> Tensor:
    # libjpeg rounds quantised coefficients half away from zero; torch.round rounds half to even.
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


class JpegProxy(nn.Module):
    """Forward: the values a `jpeg` codec round trip at `quality` gives a (B, C, H, W) feature;
    backward: identity. Computed in float32 with autocast off, whatever the input dtype.
    """

    def __init__(self, quality: int = 75) -> None:
        super().__init__()
        self.quality = check_quality(quality)
        self.register_buffer("table", quality_table(quality), persistent=False)
        self.register_buffer("dct", dct_matrix(), persistent=False)

    def forward(self, z: Tensor) -> Tensor:
        with torch.autocast(device_type=z.device.type, enabled=False):
            out = self.roundtrip(z.detach().float())
        return z + (out.to(z.dtype) - z).detach()

    def roundtrip(self, x: Tensor) -> Tensor:
        """The lossy JPEG round trip of float32 x (B, C, H, W), without the gradient trick."""
        b, c, h, w = x.shape
        lo = x.amin(dim=(1, 2, 3), keepdim=True)
        hi = x.amax(dim=(1, 2, 3), keepdim=True)
        span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
        grey = torch.round((x - lo) / span * 255.0)  # the codec's 8-bit quantiser over [min, max]
        rows, cols = grid(c)
        tiles = torch.zeros(b, rows * cols, h, w, dtype=x.dtype, device=x.device)
        tiles[:, :c] = grey
        image = tiles.view(b, rows, cols, h, w).permute(0, 1, 3, 2, 4).reshape(b, rows * h, cols * w)
        decoded = self._blocks_roundtrip(image)
        planes = decoded.view(b, rows, h, cols, w).permute(0, 1, 3, 2, 4).reshape(b, rows * cols, h, w)[:, :c]
        return lo + planes / 255.0 * span

    def _blocks_roundtrip(self, image: Tensor) -> Tensor:
        b, height, width = image.shape
        ph, pw = -height % BLOCK, -width % BLOCK
        if ph or pw:  # libjpeg fills partial blocks by repeating the last row and column
            image = nn.functional.pad(image[:, None], (0, pw, 0, ph), mode="replicate")[:, 0]
        nby, nbx = image.shape[1] // BLOCK, image.shape[2] // BLOCK
        blocks = image.view(b, nby, BLOCK, nbx, BLOCK).permute(0, 1, 3, 2, 4) - 128.0
        coef = self.dct @ blocks @ self.dct.T
        levels = _round_half_away(coef / self.table)
        pixels = self.dct.T @ (levels * self.table) @ self.dct + 128.0
        pixels = torch.round(pixels).clamp(0.0, 255.0)
        out = pixels.permute(0, 1, 3, 2, 4).reshape(b, nby * BLOCK, nbx * BLOCK)
        return out[:, :height, :width]
