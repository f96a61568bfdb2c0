"""`twostep`: the 2-step pruning baseline of Shi et al. (arXiv:1903.03472), as papers 001/003
compare it (section V.A, baseline 2).

Step 1 prunes the whole network (head and tail): every prunable layer's output channels at the
candidate's sparsity s, by the same incremental l2-norm channel pruning as the three-step
framework (netmodels.pruning, scope "network"; the feature's channels are left to step 2).
Step 2 prunes only the layer right before the split point (its output channels, i.e. the
feature sent; for a residual head a channel selection after the block) at feature_sparsity
(a candidate option, default s), to reduce the communication. Each step retrains the network.
These are the method's pruning stages ("prune-network", "prune-feature"); no stage follows.

The feature is then sent as it is over a reliable link (channel "none"): raw float32, or with
option codec="huffman" (001's comparison) n-bit quantised over [0, the sample's max] (ReLU
features; 32 header bits) and Huffman coded. With the codec the tail sees the quantised feature
(the n-bit step is the codec's only loss; straight-through gradient), the profile holds the
nominal n bits per element until netmodels.candidate.build.measure_payload measures the real Huffman
streams (train_candidate does).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.codecs import fake_quantize
from netmodels.codecs.entropy import MAX_ENTROPY_BITS
from netmodels.graph import GraphUnitModel
from netmodels.methods.base import METHODS, FeatureMethod, MethodParts
from netmodels.methods.bottlenet import require_reliable
from netmodels.pruning import PruneStep, plan_pruning
from netmodels.zoo import FLOAT32_BITS, UnitModel
from splitbase import ModelError
from splitbase.schema import Bounds

MAX_SCALE_HEADER_BITS = 32  # the sample's max, one float32


class MaxScaleQuantize(nn.Module):
    """What the `huffman` codec (scale "max") does to the values: per sample, n-bit uniform
    quantisation over [0, max]; the Huffman coding after it is lossless. Straight-through
    gradient. forward(y (B, ...)) -> same shape and dtype."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = bits

    def forward(self, y: Tensor) -> Tensor:
        hi = y.detach().float().flatten(1).amax(dim=1).view(-1, *([1] * (y.dim() - 1)))
        quantised = fake_quantize(y.float(), self.bits, 0.0, hi).to(y.dtype)
        return quantised + (y - y.detach())  # exactly the codec's values (y + (q - y) rounds off an ulp)

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


def feature_pruning_reason(model: UnitModel, split: int) -> str | None:
    """Why the layer before `split` cannot be pruned (None if it can)."""
    if split == -1:
        return "nothing runs on the device at the input split; there is no layer before it to prune"
    if isinstance(model, GraphUnitModel):
        return ("pruning plans the zoo's conv units and residual blocks; a traced user model's units are graph "
                "segments it does not know")
    if not plan_pruning(model, split, scope="feature").has_feature:
        return (f"the feature after {model.split_name(split)!r} is not the output of a prunable conv layer "
                "or residual block, so the layer before the split cannot be pruned")
    return None


@dataclass(frozen=True)
class TwoStepOptions:
    codec: Literal["huffman"] | None = None
    codec_bits: Annotated[int, Bounds(low=1, high=MAX_ENTROPY_BITS)] = 8


@METHODS.register()
class TwoStepPruning(FeatureMethod):
    """2-step pruning: whole network, then the layer before the split; the feature sent raw or Huffman coded."""

    name = "twostep"
    description = "2-step pruning (Shi et al.): prune the whole network, then the layer before the split"
    Options = TwoStepOptions

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        return feature_pruning_reason(model, split)

    def pruning_steps(self, sparsity: float, feature_sparsity: float) -> tuple[PruneStep, ...]:
        """Step 1 on the whole network at `sparsity`, step 2 on the feature at `feature_sparsity`."""
        steps = []
        if sparsity > 0:
            steps.append(PruneStep("prune-network", "network", sparsity, 0.0))
        if feature_sparsity > 0:
            steps.append(PruneStep("prune-feature", "feature", 0.0, feature_sparsity))
        return tuple(steps)

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: TwoStepOptions) -> MethodParts:
        if compression_ratio is not None:
            raise ModelError("method 'twostep' sends the pruned feature as it is and takes no compression_ratio")
        require_reliable(self.name, channel)
        if options.codec is None:
            return MethodParts(None, None, tuple(feature_shape), FLOAT32_BITS)
        bits = options.codec_bits
        return MethodParts(None, None, tuple(feature_shape), bits, header_bits=MAX_SCALE_HEADER_BITS,
                           codec="huffman", codec_options={"bits": bits, "scale": "max"},
                           codec_proxy=MaxScaleQuantize(bits))

