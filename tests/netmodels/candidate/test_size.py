"""The analytic encoder size (netmodels.candidate.size) against the built, traced candidate: for
every method that sizes its encoder, the values sent, their bits, the encoder's weights and its
MACs equal the built candidate's profile (the one MAC counter), and a point it cannot size is
one the build refuses with the same error."""
import re

import pytest
import torch

from netmodels.candidate import CandidateSpec, ChannelSpec, build_candidate
from netmodels.candidate.size import size_encoder
from netmodels.methods import METHODS
from netmodels.zoo import build_model
from splitbase import ModelError

SHAPE = (1, 32, 32)
# (split, sparsity, ratio, channel): pruned and unpruned features, both conv strides, FCs too
# large to build, a ratio beyond one sent channel, a flat feature, and each kind of channel
CASES = [("conv1", 0.0, 64, {"kind": "bec", "p": 0.01, "bits": 8}),
         ("conv1", 0.5, 256, {"kind": "bec", "p": 0.01, "bits": 8}),
         ("conv1", 0.0, 4, {"kind": "bec", "p": 0.01, "bits": 8}),
         ("layer1.1", 0.75, 1024, {"kind": "bec", "p": 0.01, "bits": 8}),
         ("layer2.1", 0.25, 32, {"kind": "awgn"}),
         ("layer4.0", 0.5, 16, {"kind": "none"}),
         ("layer4.1", 0.0, 8, {"kind": "bsc", "p": 0.01, "bits": 4}),
         ("avgpool", 0.0, 8, {"kind": "bec", "p": 0.01, "bits": 8})]  # flat: no conv encoder


@pytest.fixture(scope="module")
def base():
    torch.manual_seed(0)
    return build_model("resnet18-cifar", input_shape=SHAPE, num_classes=10).eval()


@pytest.mark.parametrize("method", METHODS.names())
@pytest.mark.parametrize("split,sparsity,ratio,channel", CASES)
def test_a_sized_encoder_is_the_one_built(base, method, split, sparsity, ratio, channel):
    spec = CandidateSpec(model="resnet18-cifar", dataset="synthetic", split=split, sparsity=sparsity,
                         compression_ratio=ratio, method=method, channel=ChannelSpec(**channel))
    k = base.split_index(split)
    feature = tuple(base.head(k)(torch.zeros(1, *SHAPE)).shape[1:])
    try:
        size = size_encoder(spec, base, feature)
    except ModelError as exc:
        with pytest.raises(ModelError, match=re.escape(str(exc))):
            build_candidate(spec, input_shape=SHAPE, num_classes=10, base_model=base)
        return
    if size is None:
        return
    profile = build_candidate(spec, input_shape=SHAPE, num_classes=10, base_model=base).profile
    assert (size.sent_values, size.bits_per_element, size.weights, size.macs) == \
        (profile.sent_elements, profile.bits_per_element, profile.encoder_params, profile.encoder_macs)


def test_the_sized_methods_include_the_searched_ones(base):
    """bottlenetpp and threestep, the methods of the tabular benchmark, size their encoders."""
    feature = tuple(base.head(base.split_index("layer2.1"))(torch.zeros(1, *SHAPE)).shape[1:])
    for method in ("bottlenetpp", "threestep"):
        spec = CandidateSpec(model="resnet18-cifar", dataset="synthetic", split="layer2.1", compression_ratio=256,
                             method=method, channel=ChannelSpec("bec", p=0.01, bits=8))
        assert size_encoder(spec, base, feature) is not None
