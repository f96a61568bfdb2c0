"""`edgehost`: edge-host partitioning with feature space encoding (Ko et al., AVSS 2018; paper 004).

The head's feature is coded on the link, at any split point, by

- lossless run-length + Huffman coding (option codec "rle-huffman", "Lossless Encoding"): the
  feature quantised to `bits` levels over its min/max (the codec's quantiser; 8 by default),
  then coded without loss (netmodels.codecs.RleHuffmanCodec), or
- lossy JPEG (codec "jpeg", "Lossy Encoding") at a quality factor `quality`: channels tiled
  into one grey image, 8 bits over the sample's min/max, Pillow JPEG (JpegFeatureCodec).

No layer is added: the method's encoder is None (the feature itself is what the codec sees) and
its decoder is the link's effect on the values: the n-bit quantiser for rle-huffman (exactly
the codec's round trip), JpegProxy for JPEG (the Pillow codec's lossy steps on the device; see
netmodels.methods.parts.jpeg_proxy for how close). At the input split the feature is the normalised
image, coded the same way (raw bits 8 per element there).

The ratio is measured, never requested: the profile holds a nominal payload (bits per element
plus the 64-bit min/max header) marked unmeasured until netmodels.candidate.build.measure_payload
(run by train_candidate after training) replaces it with the mean size of the real codec
output over test images.

Split re-training ("Fine-Tuning of the Partitioned Network", Fig. 5a): only the host partition
(the tail) is fine-tuned, on features JPEG-coded at a quality factor drawn per batch from
`train_quality` (the paper's 30-35, the QF range of its 1% accuracy loss), while the edge
partition (the head) stays as it is: its weights and batch-norm statistics do not move.
`retrain: false` gives a candidate without stages, evaluated as coded (accuracy vs quality).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.codecs.entropy import MAX_ENTROPY_BITS
from netmodels.codecs.image import check_quality
from netmodels.methods.base import METHODS, Method, MethodParts, Stage, is_noisy
from netmodels.methods.parts.jpeg_proxy import JpegProxy
from splitbase import ModelError

CODECS = ("jpeg", "rle-huffman")
DEFAULT_QUALITY = 75
DEFAULT_TRAIN_QUALITY = (30, 35)  # paper 004: QF drawn in 30..35 for split re-training
DEFAULT_BITS = 8
JPEG_INPUT_BITS = 8
MINMAX_HEADER_BITS = 64  # both codecs send the sample's min and max as two float32


def _chw(shape: tuple[int, ...]) -> tuple[int, ...]:
    # As the jpeg codec reads a 1-D or 2-D feature: one or C tiles (netmodels.codecs.image._as_chw).
    return (1,) * (3 - len(shape)) + tuple(shape)


class JpegLink(nn.Module):
    """The JPEG round trip of the link (JpegProxy, straight-through gradient): at `quality` in
    eval mode; in training mode at a QF drawn per batch, uniformly over the integers of
    `train_quality` (low, high), when given. forward(y (B, ...)) -> y's shape.
    """

    def __init__(self, quality: int, train_quality: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.quality = check_quality(quality)
        self.train_quality = train_quality
        qualities = {self.quality} | (set(range(train_quality[0], train_quality[1] + 1)) if train_quality else set())
        self.proxies = nn.ModuleDict({str(q): JpegProxy(q) for q in sorted(qualities)})

    def forward(self, y: Tensor) -> Tensor:
        quality = self.quality
        if self.training and self.train_quality is not None:
            low, high = self.train_quality
            # torch's CPU generator: seeded by the loop and saved in its checkpoints, no device sync.
            quality = int(torch.randint(low, high + 1, ()).item())
        return self.proxies[str(quality)](y.reshape(y.shape[0], *_chw(tuple(y.shape[1:])))).reshape(y.shape)

    @property
    def deployed(self) -> nn.Module:
        """What runs on the server once the real JPEG file is decoded: nothing more."""
        return nn.Identity()

    def extra_repr(self) -> str:
        return f"quality={self.quality}, train_quality={self.train_quality}"


class QuantLink(nn.Module):
    """The rle-huffman link's effect: `bits`-level quantisation over each sample's [min, max],
    bit-identical to the codec's decode(encode(y)) (the entropy coding after it is lossless).
    forward(y (B, ...)) -> y's shape; straight-through gradient.
    """

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = bits

    def forward(self, y: Tensor) -> Tensor:
        dims = tuple(range(1, y.dim()))
        top = float((1 << self.bits) - 1)
        with torch.autocast(device_type=y.device.type, enabled=False):
            yf = y.detach().float()
            # The float32 steps of netmodels.codecs.quantize / dequantize in the same order (so the
            # values are bit-identical), written with the operators the profiler prices (no amin,
            # minimum, maximum or comparison): min as -max(-y); a constant sample's zero span made
            # positive by clamp, which maps it to level 0 and back to lo as the codec's span 1 does.
            lo, hi = -(-yf).amax(dim=dims, keepdim=True), yf.amax(dim=dims, keepdim=True)
            span = (hi - lo).clamp(min=torch.finfo(torch.float32).tiny)
            levels = torch.round((yf - lo) / span * top)
            out = lo + levels / top * span
        return y + (out.to(y.dtype) - y).detach()

    @property
    def deployed(self) -> nn.Module:
        """What runs on the server once the codec's levels are decoded: nothing more."""
        return nn.Identity()

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


def resolve_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with the codec's defaults filled in; ModelError for a setting the codec does
    not take (quality / train_quality with rle-huffman, bits with jpeg) or a bad value.
    """
    out = dict(options)
    codec = out["codec"]
    if codec not in CODECS:
        raise ModelError(f"method 'edgehost' option codec must be {' or '.join(CODECS)}, got {codec!r}")
    if not isinstance(out["retrain"], bool):
        raise ModelError(f"method 'edgehost' option retrain must be true or false, got {out['retrain']!r}")
    if not (isinstance(out["lr_scale"], (int, float)) and out["lr_scale"] > 0):
        raise ModelError(f"method 'edgehost' option lr_scale must be a positive number, got {out['lr_scale']!r}")
    wrong = [k for k in (("quality", "train_quality") if codec == "rle-huffman" else ("bits",)) if out[k] is not None]
    if not out["retrain"] and out["train_quality"] is not None:
        wrong.append("train_quality (retrain is false)")
    if wrong:
        raise ModelError(f"method 'edgehost' with codec {codec!r} takes no {', '.join(wrong)}")
    if codec == "jpeg":
        out["quality"] = check_quality(DEFAULT_QUALITY if out["quality"] is None else out["quality"])
        train_quality = out["train_quality"] if out["train_quality"] is not None else DEFAULT_TRAIN_QUALITY
        if (isinstance(train_quality, str) or len(train_quality) != 2
                or check_quality(train_quality[0]) > check_quality(train_quality[1])):
            raise ModelError(f"method 'edgehost' option train_quality must be [low, high] in 1..100, "
                             f"got {train_quality!r}")
        out["train_quality"] = (int(train_quality[0]), int(train_quality[1])) if out["retrain"] else None
    else:
        bits = DEFAULT_BITS if out["bits"] is None else out["bits"]
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= MAX_ENTROPY_BITS:
            raise ModelError(f"method 'edgehost' option bits must be an integer in 1..{MAX_ENTROPY_BITS}, got {bits!r}")
        out["bits"] = bits
    return out


@METHODS.register("edgehost")
class EdgeHost(Method):
    """Edge-host partitioning: the feature coded by RLE + Huffman or JPEG, tail re-trained on JPEG features."""

    name = "edgehost"
    description = "edge-host: feature coded by RLE+Huffman (lossless) or JPEG at a QF, split re-training (paper 004)"
    OPTIONS = {"codec": "jpeg", "quality": None, "bits": None, "retrain": True, "train_quality": None,
               "lr_scale": 0.1}

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: Mapping[str, Any]) -> MethodParts:
        opts = resolve_options(options)
        if compression_ratio is not None:
            raise ModelError("method 'edgehost' measures its compression ratio from the codec's real output and "
                             "takes no compression_ratio (set the option quality instead)")
        if is_noisy(channel):
            raise ModelError("method 'edgehost' codes the feature for a reliable link: use channel 'none'")
        if opts["codec"] == "jpeg":
            decoder: nn.Module = JpegLink(opts["quality"], opts["train_quality"])
            bits, codec_options = JPEG_INPUT_BITS, {"quality": opts["quality"]}
        else:
            decoder = QuantLink(opts["bits"])
            bits, codec_options = opts["bits"], {"bits": opts["bits"]}
        return MethodParts(None, decoder, tuple(feature_shape), bits, header_bits=MINMAX_HEADER_BITS,
                           codec=opts["codec"], codec_options=codec_options)

    def stages(self, options: Mapping[str, Any]) -> tuple[Stage, ...]:
        opts = resolve_options(options)
        if not opts["retrain"]:
            return ()
        what = (f"JPEG at a QF drawn per batch in {opts['train_quality'][0]}..{opts['train_quality'][1]}"
                if opts["codec"] == "jpeg" else f"{opts['bits']}-bit quantised features")
        return (Stage("split-retrain", ("tail",), lr_scale=float(opts["lr_scale"]),
                      description=f"split re-training: the tail alone on {what}, the head fixed"),)
