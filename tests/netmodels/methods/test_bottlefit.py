import dataclasses

import pytest
import torch
from torch import nn

from netmodels.candidate import ChannelSpec
from netmodels.data import train_batches
from netmodels.methods.bottlefit import BQ_HEADER_BITS, BottleneckQuantizer, dequantize_per_tensor, quantize_per_tensor
from netmodels.methods.losses import ghnd_loss, ghnd_objective, kd_loss, stage_loss
from netmodels.methods.parts.inject import restore_geometry
from netmodels.recipes import parts_filter, stage_config, train_candidate
from netmodels.training.config import TrainConfig
from netmodels.training.loop import train
from netmodels.zoo import UnitModel, build_model
from netmodels.zoo.base import conv_bn_act, fully_connected
from splitbase import ModelError
from tests.netmodels.training_checks import seeded_candidate

SHAPE = (1, 32, 32)
CONFIG = TrainConfig(epochs=2, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")


def candidate(base=None, *, shape=SHAPE, **kw):
    return seeded_candidate(base, shape, **{"method": "bottlefit", "compression_ratio": 32, **kw})


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ghnd_loss_is_zero_when_student_equals_teacher_and_positive_otherwise():
    torch.manual_seed(0)
    teacher = [torch.randn(4, 8, 5, 5), torch.randn(4, 16, 3, 3), torch.randn(4, 10)]
    assert ghnd_loss([t.clone() for t in teacher], teacher).item() == 0.0
    student = [teacher[0], teacher[1] + 0.1, teacher[2]]
    assert ghnd_loss(student, teacher).item() == pytest.approx(0.01, rel=1e-4)  # one term, weight 1
    student = [teacher[0] + 0.1, teacher[1] + 0.2, teacher[2]]
    assert ghnd_loss(student, teacher).item() == pytest.approx(0.01 + 0.04, rel=1e-4)  # sum of the terms
    assert ghnd_loss(student, teacher, weights=[0.0, 1.0, 1.0]).item() == pytest.approx(0.04, rel=1e-4)
    with pytest.raises(ModelError):
        ghnd_loss(student[:2], teacher)


def test_kd_loss_is_cross_entropy_when_the_teacher_agrees_and_alpha_weights_the_terms():
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 10), torch.randint(0, 10, (8,))
    ce = nn.functional.cross_entropy(logits, labels)
    assert kd_loss(logits, logits, labels, alpha=0.5).item() == pytest.approx(0.5 * ce.item(), rel=1e-5)
    other = torch.randn(8, 10)
    assert kd_loss(logits, other, labels, alpha=1.0).item() == pytest.approx(ce.item(), rel=1e-5)
    assert kd_loss(logits, other, labels, alpha=0.0).item() > 0


def test_bottleneck_has_the_requested_channels_and_the_tail_receives_the_shape_it_expects():
    c = candidate(compression_ratio=None, options={"channels": 6})
    module, profile = c.module.eval(), c.profile
    x = torch.randn(3, *SHAPE)
    with torch.no_grad():
        sent = module.head(x)
        restored = module.decoder(module.encoder(sent, None))
        logits = module(x)
    assert tuple(sent.shape[1:]) == (6, 4, 4)  # 32 x 8 x 8 feature at pool2, conv2 re-made for 6 channels at stride 2
    assert tuple(restored.shape[1:]) == profile.feature_shape == (32, 8, 8)
    assert logits.shape == (3, 10)
    head_convs = [m for m in module.head.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in head_convs] == [16, 6] and head_convs[-1].stride == (2, 2)
    assert profile.sent_shape == (6, 4, 4) and profile.bits_per_element == 8 and profile.header_bits == BQ_HEADER_BITS
    assert profile.compression_ratio == 32 * 8 * 8 * 32 / (6 * 4 * 4 * 8 + 40)
    assert profile.encoder_macs == 0 and profile.decoder_macs == 6 * 32 * 2 * 2 * 4 * 4  # C_in C_out R S H W
    # from the ratio: C' = round(raw bits / (ratio x 4 x 4 x 8 bits))
    assert candidate(compression_ratio=32).profile.sent_shape == (16, 4, 4)
    assert candidate(compression_ratio=4, options={"quantize": False, "stride": 1}).profile.sent_shape == (8, 8, 8)


def test_resnet_block_is_decomposed_into_a_bottleneck_and_restored_for_the_next_block():
    c = candidate(model="resnet18-cifar", shape=(3, 32, 32), split="layer2.1", compression_ratio=None,
                  options={"channels": 12})
    module = c.module.eval()
    block = module.head[-1]  # layer2.1 as conv-BN-ReLU, conv(12, stride 2)-BN, ReLU; no shortcut
    assert isinstance(block, nn.Sequential) and not any("shortcut" in n for n, _ in block.named_modules())
    assert block[-2][0].out_channels == 12 and block[-2][0].stride == (2, 2) and isinstance(block[-1], nn.ReLU)
    with torch.no_grad():
        sent = module.head(torch.randn(2, 3, 32, 32))
        restored = module.decoder(sent)
    assert tuple(sent.shape[1:]) == c.profile.sent_shape == (12, 8, 8)
    assert tuple(restored.shape[1:]) == (128, 16, 16)  # what layer3.0 takes
    assert c.parts.matched_units == (6, 8)  # layer3.1 and layer4.1: the later stage ends
    assert isinstance(module.decoder.act, nn.ReLU)


@pytest.mark.parametrize("sent, target", [(4, 8), (14, 27), (13, 27), (8, 8), (3, 8)])
def test_restore_geometry_reaches_the_target_size_exactly(sent, target):
    kernel, stride, padding = restore_geometry(sent, target)
    assert (sent - 1) * stride - 2 * padding + kernel == target and padding >= 0 and kernel >= stride


def test_bottleneck_quantisation_error_is_within_half_a_step():
    torch.manual_seed(0)
    x = torch.cat([torch.randn(3, 6, 4, 4) * 3, torch.relu(torch.randn(2, 6, 4, 4)), torch.zeros(1, 6, 4, 4)])
    q, scale, zero = quantize_per_tensor(x)
    assert q.min() >= 0 and q.max() <= 255 and torch.equal(q, q.round()) and scale.shape == (6, 1, 1, 1)
    error = (dequantize_per_tensor(q, scale, zero) - x).abs()
    assert (error <= scale / 2 * (1 + 1e-5)).all()
    assert torch.equal(zero[3:5], torch.zeros_like(zero[3:5]))  # non-negative features: zero point 0
    assert torch.equal(dequantize_per_tensor(q, scale, zero)[5], x[5])  # an all-zero frame stays exact
    bq = BottleneckQuantizer()
    assert bq.train()(x) is x  # post-training: training runs in float
    assert (bq.eval()(x) - x).abs().max() > 0


def test_sent_feature_is_8_bit_in_eval_mode(base):
    module = candidate(base).module.eval()
    sent = module.sent(torch.randn(2, *SHAPE))
    assert all(len(torch.unique(s)) <= 256 for s in sent)


def ghnd_on(module, parts, data):
    """Mean GHND over the training set, eval mode."""
    was = module.training
    module.eval()
    total, n = 0.0, 0
    with torch.no_grad(), ghnd_objective(module, parts) as loss:
        for x, y in train_batches(data, batch_size=128, crop_padding=0, flip=False):
            total += loss(module(x), y).item() * len(y)
            n += len(y)
    module.train(was)
    return total / n


def test_each_bottlefit_stage_lowers_its_loss_and_trains_only_its_parts(data, base):
    c = candidate(base, options={"ghnd_lr": 1e-2})  # faster than the paper's 1e-3 on a tiny budget
    module = c.module
    ghnd, ft = c.stages
    assert (ghnd.name, ghnd.trainable, ft.name, ft.trainable) == ("ghnd", ("head", "decoder"), "ft", ("decoder", "tail"))
    teacher, tail, head = snapshot(c.parts.teacher), snapshot(module.tail), snapshot(module.head)
    before = ghnd_on(module, c.parts, data)
    with stage_loss(ghnd, module, c.parts) as loss_fn:
        r1 = train(module, data, stage_config(CONFIG, ghnd, 1, None), loss_fn=loss_fn,
                   trainable=parts_filter(ghnd.trainable), progress=False)
    assert ghnd_on(module, c.parts, data) < 0.7 * before and r1.loss_history[-1] < r1.loss_history[0]
    assert same(snapshot(module.tail), tail)  # later units frozen: weights and BN statistics
    assert not same(snapshot(module.head), head)
    head = snapshot(module.head)
    r2 = train(module, data, stage_config(CONFIG, ft, 2, None), trainable=parts_filter(ft.trainable), progress=False)
    assert r2.loss_history[-1] < r2.loss_history[0]
    assert same(snapshot(module.head), head)  # frozen encoder (FE)
    assert not same(snapshot(module.tail), tail)
    assert same(snapshot(c.parts.teacher), teacher) and same(snapshot(c.parts.teacher), snapshot(base))
    assert r2.test_accuracy > 0.5


@pytest.mark.parametrize("options, stages", [
    ({"training": "conventional"}, [("ce", None)]),
    ({"training": "kd"}, [("kd", None)]),
    ({"training": "hnd"}, [("hnd", ("head", "decoder"))]),
    ({"training": "ghnd"}, [("ghnd", ("head", "decoder"))]),
    ({"finetune": "kd", "freeze_encoder": False}, [("ghnd", ("head", "decoder")), ("kd", None)]),
])
def test_baselines_and_stage_two_variants_train_and_lower_their_losses(data, base, options, stages):
    c = candidate(base, options=options)
    assert [(s.name, s.trainable) for s in c.stages] == stages
    result = train_candidate(c, data, dataclasses.replace(CONFIG, epochs=1.5), progress=False)
    assert all(s.result.loss_history[-1] < s.result.loss_history[0] for s in result.stages)
    assert result.test_accuracy is not None


def test_applies_to_refuses_the_input_split_and_a_head_without_conv_in_one_line(base):
    with pytest.raises(ModelError, match="input") as err:
        candidate(base, split="input")
    assert "\n" not in str(err.value)
    with pytest.raises(ModelError, match="C x H x W") as err:
        candidate(base, split="fc")
    no_conv = UnitModel([("pool", nn.AvgPool2d(2)), ("conv", conv_bn_act(1, 8, 3)),
                         ("fc", fully_connected(8 * 16 * 16, 10, flatten=True, relu=False))],
                        input_shape=SHAPE, num_classes=10)
    with pytest.raises(ModelError, match="no convolution") as err:
        candidate(no_conv, split="pool")
    assert "\n" not in str(err.value)
    with pytest.raises(ModelError, match="sparsity"):
        candidate(base, sparsity=0.5)


@pytest.mark.parametrize("kw, message", [
    ({"options": {"channels": 4}}, "not both"),
    ({"compression_ratio": None}, "needs a compression_ratio"),
    ({"compression_ratio": 2}, "not a bottleneck"),
    ({"channel": ChannelSpec("awgn")}, "reliable link"),
    ({"options": {"training": "hkd"}}, "training"),
])
def test_bad_settings_are_refused_before_training(kw, message):
    with pytest.raises(ModelError, match=message):
        candidate(build_model("small-cnn", input_shape=SHAPE, num_classes=10), **kw)


def test_hnd_is_optimised_as_ghnd_and_differs_only_in_the_points_it_matches(base):
    hnd = candidate(base, options={"training": "hnd", "ghnd_lr": 2e-3}).stages
    ghnd = candidate(base, options={"ghnd_lr": 2e-3}).stages
    assert hnd[0].overrides == ghnd[0].overrides == {"optimizer": "adam", "lr": 2e-3}
    assert hnd[0].loss is not ghnd[0].loss
