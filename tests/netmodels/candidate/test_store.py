"""A trained candidate on disk: rebuilt from its spec, its weights loaded with weights_only=True."""
import pytest
import torch

from netmodels.candidate import CandidateSpec, build_candidate, load_candidate, save_candidate
from netmodels.channels import ChannelSpec
from splitbase import ModelError


@pytest.mark.parametrize("spec", [
    CandidateSpec("small-cnn", "synthetic", "conv2", sparsity=0.5, method="bottlenetpp", compression_ratio=8,
                  channel=ChannelSpec("bec", p=0.0)),
    CandidateSpec("small-cnn", "synthetic", "pool2", method="bottlefit", compression_ratio=64),
    CandidateSpec("small-cnn", "synthetic", "pool2", method="threestep", compression_ratio=16),
])
def test_a_saved_candidate_loads_with_its_weights(tmp_path, spec):
    torch.manual_seed(0)
    candidate = build_candidate(spec, input_shape=(1, 32, 32), num_classes=10)
    for p in candidate.module.parameters():  # not the weights a fresh build would start from
        p.data.add_(0.1)
    path = save_candidate(tmp_path / "c.pt", candidate)
    loaded = load_candidate(path)
    assert loaded.spec == spec and loaded.profile.sent_shape == candidate.profile.sent_shape
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.module.eval()(x), candidate.module.eval()(x), atol=1e-6)


def test_a_file_that_is_not_a_candidate_is_one_error(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ModelError, match="not a readable trained candidate"):
        load_candidate(tmp_path / "bad.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a trained candidate of format"):
        load_candidate(tmp_path / "other.pt")
    with pytest.raises(ModelError, match="no such trained candidate"):
        load_candidate(tmp_path / "none.pt")
