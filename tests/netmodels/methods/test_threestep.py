
import pytest
import torch
from torch import nn

from explorer.profile.table import profile_model
from netmodels.candidate import ChannelSpec
from netmodels.channels import AWGNChannel
from netmodels.methods.threestep import CodebookQuantizer
from netmodels.methods.threestep import FCDecoder, FCEncoder, plan_encoding
from netmodels.pruning import one_shot_keep, plan_pruning, prune_physically
from netmodels.recipes import parts_filter, run_pruning_stage, stage_config, train_candidate
from netmodels.training.config import TrainConfig
from netmodels.training.loop import train
from netmodels.zoo import UnitModel
from splitbase import ModelError
from tests.netmodels.training_checks import seeded_candidate, training_loss

SHAPE = (1, 32, 32)
CONFIG = TrainConfig(epochs=3, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")


def candidate(base=None, **kw):
    return seeded_candidate(base, SHAPE, **{"method": "threestep", "compression_ratio": 64, **kw})


@pytest.mark.parametrize("kw, bits", [
    (dict(), 4),                                                     # learned source coding, 4-bit codebook
    (dict(options={"bits": 2}), 2),
    (dict(channel=ChannelSpec("bsc", p=0.01, bits=3)), 3),           # JSCC, digital
    (dict(channel=ChannelSpec("awgn", psnr_db=20)), 32),             # JSCC, analog: 32 bits per real value
    (dict(sparsity=0.5, compression_ratio=40), 4),                   # on the pruned feature
])
def test_achieved_compression_ratio_is_exact(kw, bits):
    profile = candidate(**kw).profile
    channels = 16 if kw.get("sparsity") else 32
    raw = channels * 8 * 8 * 32
    values = round(raw / (kw.get("compression_ratio", 64) * bits))
    assert profile.sent_shape == (values,) and profile.bits_per_element == bits
    assert profile.raw_feature_bits == raw and profile.payload_bits == values * bits
    assert profile.compression_ratio == raw / (values * bits)
    assert profile.unpruned_feature_bits == 32 * 8 * 8 * 32


def test_codebook_is_learned_and_only_codewords_are_sent(base, data):
    c = candidate(base, options={"bits": 2})
    quantizer = c.module.encoder.quantizer
    start = quantizer.codebook.detach().clone()
    assert torch.equal(start, torch.linspace(-1, 1, 4))
    codec = c.stages[0]
    train(c.module, data, stage_config(CONFIG, codec, 1, None), trainable=parts_filter(codec.trainable), progress=False)
    codebook = quantizer.codebook.detach()
    assert not torch.allclose(codebook, start)  # the codewords moved with the task loss
    x = torch.randn(8, *SHAPE)
    for mode in (True, False):
        c.module.train(mode)
        sent = c.module.sent(x)
        assert sent.shape == (8, c.profile.sent_shape[0])
        assert torch.isin(sent, codebook).all()  # exactly codewords, in training too
    assert set(quantizer.indices(sent).unique().tolist()) <= {0, 1, 2, 3}


def test_quantizer_passes_gradients_to_the_encoder_and_the_codebook():
    quantizer = CodebookQuantizer(3).train()
    z = torch.linspace(-0.9, 0.9, 7).view(1, 7).requires_grad_()
    out = quantizer(z)
    assert torch.isin(out, quantizer.codebook.detach()).all()
    (out * torch.arange(7.0)).sum().backward()
    assert torch.equal(z.grad, torch.arange(7.0).view(1, 7))  # straight through
    assert quantizer.codebook.grad.abs().sum() > 0  # soft assignment
    with pytest.raises(ModelError, match="source coding bits must be an integer in 1..8"):
        CodebookQuantizer(9)


def test_each_stage_lowers_the_loss(base, data):
    c = candidate(base, sparsity=0.5, compression_ratio=32)
    prune, codec, finetune = c.stages
    assert (prune.name, codec.name, finetune.name) == ("prune", "codec", "finetune")
    assert codec.trainable == ("encoder", "decoder") and finetune.lr_scale == 0.1
    # pruning: the network pruned in one shot from the base weights, then incrementally with retraining
    plan = plan_pruning(c.pruning.model, c.pruning.split, scope="head")
    one_shot = prune_physically(c.pruning.model, plan, one_shot_keep(c.pruning.model, plan, sparsity=0.5,
                                                                     feature_sparsity=0.5))
    before = training_loss(one_shot, data)
    run_pruning_stage(c, prune, data, stage_config(CONFIG, prune, 1, None), progress=False)
    assert training_loss(c.pruning.model, data) < before
    for index, stage in enumerate((codec, finetune), start=2):
        before = training_loss(c.module, data)
        train(c.module, data, stage_config(CONFIG, stage, index, None), trainable=parts_filter(stage.trainable),
              progress=False)
        assert training_loss(c.module, data) < before, stage.name


def test_jscc_trains_end_to_end_over_awgn(base, data):
    c = candidate(base, compression_ratio=16, channel=ChannelSpec("awgn", psnr_db=15, train_range=(10, 20)))
    assert isinstance(c.module.channel, AWGNChannel) and c.module.encoder.quantizer is None
    sent = c.module.sent(torch.randn(4, *SHAPE))
    assert sent.min() >= 0 and sent.max() <= 1  # the sigmoid range the AWGN channel's PSNR assumes
    start = training_loss(c.module, data)
    result = train_candidate(c, data, CONFIG, progress=False)
    assert training_loss(c.module, data) < 0.7 * start
    assert all(s.result.loss_history[-1] < s.result.loss_history[0] for s in result.stages)


@pytest.mark.parametrize("feature, stride", [((32, 8, 8), 1), ((32, 7, 7), 2), ((64,), 1)])
def test_encoder_and_decoder_macs_agree_with_the_profiler(feature, stride):
    plan = plan_encoding(feature, ratio=32, bits_per_element=8, reduced_channels=None, stride=stride,
                         max_fc_params=1 << 24)
    encoder, decoder = FCEncoder(plan, quantizer=None), FCDecoder(plan)

    class EncoderUnit(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, x):
            return self.encoder(x)

    traced = profile_model(UnitModel([("encoder", EncoderUnit()), ("decoder", decoder)], input_shape=feature,
                                     num_classes=1), name="fc-encoder")
    assert traced.feature_shapes[1] == (plan.values,) and traced.feature_shapes[2] == feature
    # conv K C R S P Q (and the transposed conv back), then the FC's inputs x outputs
    conv = 0 if plan.conv is None else (plan.conv.sent_channels * plan.conv.channels * stride * stride
                                        * plan.conv.sent_shape[1] * plan.conv.sent_shape[2])
    assert traced.unit_macs[1] == conv + plan.fc_inputs * plan.values
    assert traced.unit_macs[2] == plan.values * plan.fc_inputs + conv


@pytest.mark.parametrize("kw, message", [
    (dict(split="input"), "does not apply at split 'input'.*nothing runs on the device"),
    (dict(split="fc"), "does not apply at split 'fc'.*sends the result"),
    (dict(compression_ratio=None), "needs a compression_ratio"),
    (dict(compression_ratio=0.5), "too low for the FC encoder"),
    (dict(channel=ChannelSpec("bsc"), options={"bits": 4}), "channel's own bits apply"),
    (dict(options={"stride": 3}), "options.stride: expected one of 1, 2"),
    (dict(options={"max_fc_params": 1000}), "max_fc_params 1000"),
])
def test_a_mismatch_is_a_one_line_model_error_before_training(kw, message):
    with pytest.raises(ModelError, match=message) as info:
        candidate(**kw)
    assert "\n" not in str(info.value)
