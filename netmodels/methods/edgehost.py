"""`edgehost`: edge-host partitioning with feature space encoding (Ko et al., AVSS 2018; paper 004).

The head's feature is coded on the link, at any split point, by

- lossless run-length + Huffman coding (option codec "rle-huffman", "Lossless Encoding"): the
  feature quantised to `bits` levels over its min/max (the codec's quantiser; 8 by default),
  then coded without loss (netmodels.codecs.RleHuffmanCodec), or
- lossy JPEG (codec "jpeg", "Lossy Encoding") at a quality factor `quality`: channels tiled
  into one grey image, 8 bits over the sample's min/max, Pillow JPEG (JpegFeatureCodec); each
  frame a whole JPEG file, or with `headers: false` its entropy-coded scan alone (the 330 bytes
  of headers and standard tables fixed by the split point and quality, agreed once), or
- lossless PNG (codec "png"): the same tiled 8-bit grey image as a Pillow PNG file (zlib level 9,
  PngFeatureCodec), lossless after the 8-bit quantiser. Not one of paper 004's codecs: it is the
  lossless image baseline of papers 000 (BottleNet++, Table I) and 002 (BottleFit, Fig. 5), which
  compare a split's payload with the PNG of the input image: at the input split it is that file's
  size (the image tiled into one grey plane), at a later split the feature coded the same way.

No layer is added: the method's encoder is None (the feature itself is what the codec sees) and
its decoder is the link's effect on the values: the n-bit quantiser for rle-huffman and the
8-bit one for png (each exactly the codec's round trip), JpegProxy for JPEG (the Pillow codec's
lossy steps on the device; see netmodels.methods.parts.jpeg_proxy for how close). At the input
split the feature is the normalised image, coded the same way (raw bits 8 per element there).

The ratio is measured, never requested: the profile holds a nominal payload (bits per element
plus the 64-bit min/max header) marked unmeasured until netmodels.candidate.build.measure_payload
(run by train_candidate after training) replaces it with the mean size of the real codec
output over test images.

Split re-training ("Fine-Tuning of the Partitioned Network", Fig. 5a): only the host partition
(the tail) is fine-tuned, on features JPEG-coded at a quality factor drawn per batch from
`train_quality` (the paper's 30-35, the QF range of its 1% accuracy loss), or for the lossless
codecs on the quantised features the host decodes, while the edge partition (the head) stays as
it is: its weights and batch-norm statistics do not move.
`retrain: false` gives a candidate without stages, evaluated as coded (accuracy vs quality).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.codecs.entropy import MAX_ENTROPY_BITS
from netmodels.codecs.image import JpegQuality, check_quality
from netmodels.methods.base import METHODS, FeatureMethod, MethodParts, Stage
from netmodels.methods.bottlenet import require_reliable
from netmodels.methods.parts.jpeg_proxy import JpegProxy
from splitbase import ModelError
from splitbase.schema import Bounds, Positive

DEFAULT_QUALITY = 75
DEFAULT_TRAIN_QUALITY = (30, 35)  # paper 004: QF drawn in 30..35 for split re-training
DEFAULT_BITS = 8
JPEG_INPUT_BITS = 8
PNG_BITS = 8  # the png codec's quantiser: the tiled grey image's 8 bits
MINMAX_HEADER_BITS = 64  # every codec sends the sample's min and max as two float32
# The options a codec does not take (EdgeHostOptions.check).
NOT_TAKEN = {"jpeg": ("bits",), "rle-huffman": ("quality", "headers", "train_quality"),
             "png": ("quality", "headers", "train_quality", "bits")}


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

    def extra_repr(self) -> str:
        return f"quality={self.quality}, train_quality={self.train_quality}"


class QuantLink(nn.Module):
    """The lossless codecs' link effect: `bits`-level quantisation over each sample's [min, max],
    bit-identical to the codec's decode(encode(y)) (rle-huffman at `bits`, png at 8: the
    entropy coding, or PNG, after it is lossless).
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
        # Straight-through gradient with the value exactly `out`: y - y.detach() is exactly 0, where
        # y + (out - y) would round off an ulp of some values.
        return out.to(y.dtype) + (y - y.detach())

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


@dataclass(frozen=True)
class EdgeHostOptions:
    codec: Literal["jpeg", "rle-huffman", "png"] = "jpeg"
    quality: JpegQuality | None = None
    headers: bool | None = None
    bits: Annotated[int, Bounds(low=1, high=MAX_ENTROPY_BITS)] | None = None
    retrain: bool = True
    train_quality: tuple[JpegQuality, JpegQuality] | None = None
    lr_scale: Positive = 0.1

    def check(self, path: str) -> None:
        """A setting the codec does not take (NOT_TAKEN: quality, headers or train_quality with
        rle-huffman or png, bits with jpeg or png; train_quality without retraining) is an error,
        not silently ignored."""
        wrong = [name for name in NOT_TAKEN[self.codec] if getattr(self, name) is not None]
        if not self.retrain and self.train_quality is not None and "train_quality" not in wrong:
            wrong.append("train_quality (retrain is false)")
        if wrong:
            raise ModelError(f"{path}: codec {self.codec!r} takes no {', '.join(wrong)}")
        if self.train_quality is not None and self.train_quality[0] > self.train_quality[1]:
            raise ModelError(f"{path}.train_quality: must be [low, high] with low <= high, got {list(self.train_quality)}")

    @property
    def jpeg_quality(self) -> int:
        return DEFAULT_QUALITY if self.quality is None else self.quality

    @property
    def quant_bits(self) -> int:
        """The lossless codecs' quantiser bits: 8 for png (its grey image), else `bits` (default 8)."""
        if self.codec == "png":
            return PNG_BITS
        return DEFAULT_BITS if self.bits is None else self.bits

    @property
    def retrain_quality(self) -> tuple[int, int] | None:
        """The QF range split re-training draws from (JPEG only), None without re-training."""
        if not self.retrain or self.codec != "jpeg":
            return None
        return DEFAULT_TRAIN_QUALITY if self.train_quality is None else self.train_quality


@METHODS.register()
class EdgeHost(FeatureMethod):
    """Edge-host partitioning: the feature coded by RLE + Huffman, JPEG or PNG, the tail re-trained on
    the coded features."""

    name = "edgehost"
    description = ("edge-host: feature coded by RLE+Huffman (lossless) or JPEG at a QF, split re-training (paper 004); "
                   "or PNG (lossless, the image baseline of 000/002)")
    Options = EdgeHostOptions

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: EdgeHostOptions) -> MethodParts:
        if compression_ratio is not None:
            raise ModelError("method 'edgehost' measures its compression ratio from the codec's real output and "
                             "takes no compression_ratio (set the option quality instead)")
        require_reliable(self.name, channel)
        if options.codec == "jpeg":
            proxy: nn.Module = JpegLink(options.jpeg_quality, options.retrain_quality)
            bits, codec_options = JPEG_INPUT_BITS, {"quality": options.jpeg_quality}
            if options.headers is False:
                codec_options["headers"] = False
        else:
            proxy, bits = QuantLink(options.quant_bits), options.quant_bits
            codec_options = {"bits": bits} if options.codec == "rle-huffman" else {}
        return MethodParts(None, None, tuple(feature_shape), bits, header_bits=MINMAX_HEADER_BITS,
                           codec=options.codec, codec_options=codec_options, codec_proxy=proxy)

    def stages(self, options: EdgeHostOptions) -> tuple[Stage, ...]:
        if not options.retrain:
            return ()
        low_high = options.retrain_quality
        what = (f"JPEG at a QF drawn per batch in {low_high[0]}..{low_high[1]}" if low_high is not None
                else f"{options.quant_bits}-bit quantised features")
        return (Stage("split-retrain", ("tail",), lr_scale=options.lr_scale,
                      description=f"split re-training: the tail alone on {what}, the head fixed"),)
