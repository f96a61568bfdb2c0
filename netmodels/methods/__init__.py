"""Split-computing methods: what is added at a split point and how it is trained.

Registry `METHODS` (classes; `get_method(name)` gives an instance): "none" (plain split),
"bottlenetpp" (BottleNet++, paper 000), "bottlenet" (BottleNet, JPEG compression-aware, paper
000's baseline), "threestep" (the three-step framework, papers 001/003), "twostep" (2-step
pruning, their baseline), "bottlefit" (BottleFit, paper 002), "autoencoder" (its comparison),
"edgehost" (edge-host feature coding, paper 004). The hooks a method implements and their call
order are in netmodels.methods.base; the layers methods share are in netmodels.methods.parts,
the distillation and reconstruction losses in netmodels.methods.losses.
"""
from __future__ import annotations

# One import line a method: importing its module registers it.
from netmodels.methods import plain  # noqa: F401
from netmodels.methods import bottlenetpp  # noqa: F401
from netmodels.methods import bottlenet  # noqa: F401
from netmodels.methods import threestep  # noqa: F401
from netmodels.methods import twostep  # noqa: F401
from netmodels.methods import bottlefit  # noqa: F401
from netmodels.methods import autoencoder  # noqa: F401
from netmodels.methods import edgehost  # noqa: F401
from netmodels.methods.base import (
    METHODS,
    PARTS,
    EncoderSize,
    FeatureMethod,
    Method,
    MethodParts,
    NoOptions,
    Stage,
    feature_shape_at,
    get_method,
)

__all__ = ["METHODS", "PARTS", "EncoderSize", "FeatureMethod", "Method", "MethodParts", "NoOptions", "Stage", "feature_shape_at",
           "get_method"]
