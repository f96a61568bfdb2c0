"""Split-computing methods: what is added at a split point and how it is trained.

Registry `METHODS` (classes; `get_method(name)` gives an instance): "none" (plain split),
"bottlenetpp" (BottleNet++, paper 000), "bottlenet" (BottleNet, JPEG compression-aware).
"""
from __future__ import annotations

from netmodels.methods import bottlenet, bottlenetpp, plain  # noqa: F401 - registers the methods
from netmodels.methods import threestep, twostep  # noqa: F401 - registers the methods
from netmodels.methods import autoencoder, bottlefit, edgehost  # noqa: F401 - registers the methods
from netmodels.methods.base import (
    ANALOG_BITS_PER_VALUE,
    METHODS,
    PARTS,
    Method,
    MethodParts,
    Stage,
    feature_shape_at,
    get_method,
)
from netmodels.methods.bottlenet import BottleNet
from netmodels.methods.bottlenetpp import BottleNetPP
from netmodels.methods.parts.jpeg_proxy import JpegProxy
from netmodels.methods.parts.layers import BottleneckPlan, ConvEncoder, DeconvDecoder, conv_macs, deconv_macs
from netmodels.methods.plain import PlainSplit
from netmodels.methods.threestep import CodebookQuantizer, ThreeStep
from netmodels.methods.twostep import TwoStepPruning

__all__ = [
    "ANALOG_BITS_PER_VALUE",
    "METHODS",
    "PARTS",
    "BottleNet",
    "BottleNetPP",
    "BottleneckPlan",
    "ConvEncoder",
    "DeconvDecoder",
    "JpegProxy",
    "Method",
    "MethodParts",
    "PlainSplit",
    "Stage",
    "conv_macs",
    "deconv_macs",
    "feature_shape_at",
    "get_method",
]
