
import pytest
import torch

from netmodels.candidate import CandidateSpec, ChannelSpec, PruningStage, build_candidate
from netmodels.codecs import build_codec, fake_quantize
from netmodels.data import eval_batches
from netmodels.pruning import ChannelScatter, ChannelSelect
from netmodels.recipes import train_candidate
from netmodels.training.config import TrainConfig
from netmodels.training.evaluate import evaluate
from splitbase import ModelError
from tests.netmodels.training_checks import seeded_candidate, training_loss

SHAPE = (1, 32, 32)
CONFIG = TrainConfig(epochs=2, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")


def candidate(base=None, **kw):
    return seeded_candidate(base, SHAPE, **{"method": "twostep", "sparsity": 0.5, **kw})


def test_twostep_prunes_the_tail_too_then_the_layer_before_the_split():
    c = candidate(options={"feature_sparsity": 0.75})
    network, feature = c.stages
    assert isinstance(network, PruningStage) and isinstance(feature, PruningStage)
    assert (network.name, network.step.scope, network.step.sparsity, network.step.feature_sparsity) == (
        "prune-network", "network", 0.5, 0.0)
    assert (feature.name, feature.step.scope, feature.step.feature_sparsity) == ("prune-feature", "feature", 0.75)
    head, tail = c.module.head, c.module.tail
    assert head[0][0].out_channels == 8 and head[2][0].out_channels == 8   # conv1 at 0.5, conv2 (sent) at 0.75
    assert tail[0][0].in_channels == 8 and tail[0][0].out_channels == 32  # conv3, in the tail, at 0.5
    assert tail[2][1].in_features == 32 * 4 * 4                            # the classifier follows conv3
    dense = candidate(sparsity=0.0, options={"feature_sparsity": 0.0}).profile
    assert c.profile.tail_macs < dense.tail_macs and c.profile.tail_params < dense.tail_params
    assert c.profile.feature_shape == (8, 8, 8) and c.profile.pruned_channels == 8 + 24
    assert c.profile.payload_bits == 8 * 8 * 8 * 32 and c.profile.compression_ratio == 1.0


def test_twostep_on_a_resnet_prunes_every_block_and_selects_the_feature():
    spec = CandidateSpec(model="resnet18-cifar", dataset="synthetic", split="layer2.0", method="twostep", sparsity=0.5)
    c = build_candidate(spec, input_shape=(1, 16, 16), num_classes=10)
    assert isinstance(c.module.head[-1][-1], ChannelSelect) and isinstance(c.module.tail[0][0], ChannelScatter)
    assert c.module.head[-1][0].body[0][0].out_channels == 64  # layer2.0's internal channels, 128 -> 64
    assert all(block.body[0][0].out_channels == block.body[1][0].out_channels // 2
               for block in list(c.module.tail)[1:-2])  # layer2.1 .. layer4.1 in the tail
    assert c.profile.feature_shape == (64, 8, 8)


def test_twostep_trains_and_measures_the_huffman_payload(base, data):
    c = candidate(base, options={"codec": "huffman"})
    nominal = c.profile
    assert (nominal.codec, nominal.bits_per_element, nominal.header_bits) == ("huffman", 8, 32)
    assert not nominal.payload_measured and nominal.payload_bits == 16 * 8 * 8 * 8 + 32
    one_shot = training_loss(c.module, data)  # built pruned in one shot from the base weights
    result = train_candidate(c, data, CONFIG, progress=False)
    assert [s.stage for s in result.stages] == ["prune-network", "prune-feature"]
    assert training_loss(c.module, data) < one_shot
    assert result.profile.payload_measured and result.profile.payload_bits < nominal.payload_bits
    assert result.test_accuracy == evaluate(c.module, data, device="cpu") and result.test_accuracy > 0.5
    module = c.module.eval()
    x = next(iter(eval_batches(data, batch_size=4)))[0]
    feature = module.sent(x)
    codec = build_codec("huffman", bits=8, scale="max")
    decoded, _ = codec.roundtrip(feature)
    hi = feature.flatten(1).amax(1).view(-1, 1, 1, 1)
    assert torch.allclose(module.codec_proxy(feature), decoded, atol=1e-6)  # the tail sees what Huffman decodes
    assert torch.allclose(decoded, fake_quantize(feature, 8, 0.0, hi), atol=1e-6)


@pytest.mark.parametrize("kw, message", [
    (dict(split="input"), "does not apply at split 'input'.*nothing runs on the device"),
    (dict(split="fc"), "does not apply at split 'fc'.*cannot be pruned"),
    (dict(compression_ratio=4), "takes no compression_ratio"),
    (dict(channel=ChannelSpec("awgn")), "assumes a reliable link"),
    (dict(options={"codec": "jpeg"}), "options.codec: expected one of huffman"),
])
def test_a_mismatch_is_a_one_line_model_error_before_training(kw, message):
    with pytest.raises(ModelError, match=message) as info:
        candidate(**kw)
    assert "\n" not in str(info.value)


def test_the_link_gives_exactly_the_huffman_codecs_values_and_passes_the_gradient():
    from netmodels.methods.twostep import MaxScaleQuantize

    torch.manual_seed(0)
    y = torch.relu(torch.randn(4, 16, 8, 8)).requires_grad_()
    link = MaxScaleQuantize(8)(y)
    codec = build_codec("huffman", bits=8, scale="max")
    coded = torch.stack([codec.decode(codec.encode(sample.detach())) for sample in y])
    assert torch.equal(link.detach(), coded)
    link.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))
