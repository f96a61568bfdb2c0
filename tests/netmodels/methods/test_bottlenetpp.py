
import torch
import torch.nn.functional as F

from netmodels.candidate import ChannelSpec
from netmodels.codecs import build_codec
from netmodels.methods.parts.jpeg_proxy import JpegProxy
from netmodels.methods.parts.layers import plan_bottleneck
from netmodels.recipes import parts_filter, stage_config, train_candidate
from netmodels.training.config import TrainConfig
from netmodels.training.loop import train
from tests.netmodels.training_checks import seeded_candidate, training_loss

SHAPE = (1, 16, 16)
CONFIG = TrainConfig(epochs=3, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")


def candidate(base, **kw):
    channel = ChannelSpec("bec", p=0.01, bits=4, train_range=(0.0, 0.05))
    return seeded_candidate(base, SHAPE, **{"split": "conv2", "method": "bottlenetpp", "compression_ratio": 64,
                                            "channel": channel, **kw})


def snapshot(module, part):
    return {k: v.clone() for k, v in getattr(module, part).state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_three_step_training_each_stage_lowers_the_loss_and_stage2_freezes_head_and_tail(data, base):
    c = candidate(base)
    module = c.module
    assert [s.name for s in c.stages] == ["codec", "finetune"]
    codec, finetune = c.stages
    assert codec.trainable == ("encoder", "decoder") and finetune.trainable is None and finetune.lr_scale == 0.1

    head, tail, encoder = snapshot(module, "head"), snapshot(module, "tail"), snapshot(module, "encoder")
    start = training_loss(module, data)
    r2 = train(module, data, stage_config(CONFIG, codec, 1, None), trainable=parts_filter(codec.trainable),
               progress=False)
    after2 = training_loss(module, data)
    assert after2 < 0.7 * start
    assert r2.loss_history[-1] < r2.loss_history[0]
    assert same(snapshot(module, "head"), head) and same(snapshot(module, "tail"), tail)  # weights and BN statistics
    assert not same(snapshot(module, "encoder"), encoder)
    assert all(n.split(".")[0] in ("encoder", "decoder") for n in r2.trained_params)

    r3 = train(module, data, stage_config(CONFIG, finetune, 2, None), trainable=parts_filter(finetune.trainable),
               progress=False)
    after3 = training_loss(module, data)
    assert after3 < after2
    assert r3.loss_history[-1] < r3.loss_history[0]
    assert not same(snapshot(module, "head"), head)  # every layer trains in step 3
    assert r3.test_accuracy > 0.5


def test_recipe_runs_the_stages_and_resumes_them(data, base, tmp_path):
    result = train_candidate(candidate(base), data, CONFIG, checkpoint_dir=tmp_path, channel_states=[0.0, 1.0],
                             progress=False)
    assert [s.stage for s in result.stages] == ["codec", "finetune"]
    assert result.stages[1].result.total_steps == 3 * (256 // 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage1-codec.pt", "stage2-finetune.pt"]
    (clean, clean_acc), (noisy, noisy_acc) = result.channel_accuracy
    assert (clean, noisy) == (0.0, 1.0) and noisy_acc < clean_acc  # every bit erased: a constant feature
    again = train_candidate(candidate(base), data, CONFIG, checkpoint_dir=tmp_path, progress=False)
    assert [s.result.resumed_from_step for s in again.stages] == [24, 24]  # both finished: evaluated only
    assert again.test_accuracy == result.test_accuracy


def test_encoder_takes_the_channel_state_and_outputs_values_in_0_1(base):
    module = candidate(base, channel=ChannelSpec("awgn", psnr_db=20, train_range=(10, 30))).module.eval()
    encoder = module.encoder
    assert encoder.state_input and encoder.conv.in_channels == 32 + 1
    assert (encoder.state_offset, encoder.state_scale) == (20.0, 0.1)
    feature = module.head(torch.randn(4, *SHAPE))
    with torch.no_grad():
        low, high = encoder(feature, torch.full((4,), 10.0)), encoder(feature, torch.full((4,), 30.0))
    assert not torch.equal(low, high)
    assert low.min() >= 0 and low.max() <= 1
    off = candidate(base, channel=ChannelSpec("awgn"), options={"channel_state_input": False}).module.encoder
    assert not off.state_input and off.conv.in_channels == 32


def test_stride_one_gives_a_1x1_bottleneck_and_odd_maps_are_restored():
    plan = plan_bottleneck((32, 7, 7), ratio=8, bits_per_element=8, stride=1)
    assert plan.sent_shape == (16, 7, 7)
    odd = plan_bottleneck((32, 7, 7), ratio=8, bits_per_element=8, stride=2)
    assert odd.sent_shape == (87, 3, 3) and odd.output_padding == (1, 1)


def test_jpeg_proxy_matches_the_pillow_codec_and_passes_the_gradient_straight_through():
    torch.manual_seed(0)
    x = F.interpolate(torch.rand(4, 6, 4, 4), size=(13, 13), mode="bilinear") + 0.05 * torch.rand(4, 6, 13, 13)
    for quality in (20, 75):
        reference, _ = build_codec("jpeg", quality=quality).roundtrip(x)
        proxy = JpegProxy(quality)(x)
        span = x.amax(dim=(1, 2, 3), keepdim=True) - x.amin(dim=(1, 2, 3), keepdim=True)
        levels = ((proxy - reference) / span * 255).abs()  # difference in the codec's 8-bit levels
        assert levels.mean() < 0.5 and (levels > 1.01).float().mean() < 0.05
    z = x.clone().requires_grad_()
    JpegProxy(50)(z).mul(torch.arange(z.numel()).view_as(z)).sum().backward()
    assert torch.equal(z.grad, torch.arange(z.numel()).view_as(z).float())


def test_bottlenet_compression_aware_training_lowers_the_loss(data, base):
    c = candidate(base, method="bottlenet", compression_ratio=8, channel=ChannelSpec(), options={"quality": 50})
    assert [s.name for s in c.stages] == ["end-to-end"] and c.stages[0].trainable is None
    start = training_loss(c.module, data)
    result = train_candidate(c, data, CONFIG, progress=False)
    assert training_loss(c.module, data) < start
    assert result.stages[0].result.loss_history[-1] < result.stages[0].result.loss_history[0]
    assert result.profile.payload_measured  # the real JPEG size, not the nominal 8 bits per element
