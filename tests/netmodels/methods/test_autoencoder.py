import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from netmodels.data import train_batches
from netmodels.methods.autoencoder import AutoencoderDecoder, AutoencoderEncoder
from netmodels.recipes import train_candidate
from netmodels.training.config import TrainConfig
from splitbase import ModelError
from tests.netmodels.training_checks import seeded_candidate

SHAPE = (1, 32, 32)
CONFIG = TrainConfig(epochs=2, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")


def candidate(base, **kw):
    return seeded_candidate(base, SHAPE, **{"split": "conv2", "method": "autoencoder", "compression_ratio": 32, **kw})


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def reconstruction_error(module, data):
    """Mean squared error of the decoder's output to the head's feature over the training set, eval mode."""
    was = module.training
    module.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for x, _ in train_batches(data, batch_size=128, crop_padding=0, flip=False):
            feature = module.head(x)
            total += F.mse_loss(module.decoder(module.encoder(feature, None)), feature, reduction="sum").item()
            n += feature.numel()
    module.train(was)
    return total / n


def count_macs(module, x):
    """MACs of every conv and transposed conv, from the shapes met in one forward pass."""
    macs = []

    def conv(m, inputs, out):
        macs.append(out.numel() * m.in_channels * math.prod(m.kernel_size))

    def deconv(m, inputs, out):
        macs.append(inputs[0].numel() * m.out_channels * math.prod(m.kernel_size))

    handles = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else deconv)
               for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        out = module.eval()(x)
    for h in handles:
        h.remove()
    return sum(macs), out


def test_autoencoder_has_4_convs_and_4_deconvs_with_bn_relu_between_and_its_macs_are_counted(base):
    c = candidate(base)
    encoder, decoder, profile = c.module.encoder, c.module.decoder, c.profile
    assert isinstance(encoder, AutoencoderEncoder) and isinstance(decoder, AutoencoderDecoder)
    kinds = [type(m).__name__ for m in encoder.layers]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU"] * 3 + ["Conv2d"]
    assert [type(m).__name__ for m in decoder.layers] == ["ConvTranspose2d", "BatchNorm2d", "ReLU"] * 3 + ["ConvTranspose2d"]
    # conv2 output 32 x 16 x 16, ratio 32 with 8-bit BQ: C' = 32 16 16 32 / (32 8 8 8) = 16 channels at 8 x 8
    assert profile.sent_shape == (16, 8, 8) and profile.bits_per_element == 8
    feature = torch.randn(1, 32, 16, 16)
    macs, sent = count_macs(encoder, feature)
    assert tuple(sent.shape[1:]) == profile.sent_shape and macs == profile.encoder_macs
    macs, restored = count_macs(decoder, sent)
    assert tuple(restored.shape[1:]) == (32, 16, 16) and macs == profile.decoder_macs


def test_autoencoder_reconstruction_loss_falls_with_the_base_model_frozen(data, base):
    c = candidate(base, options={"lr": 1e-2})  # faster than the paper's 1e-3 on a tiny budget
    (stage,) = c.stages
    assert stage.name == "reconstruction" and stage.trainable == ("encoder", "decoder")
    head, tail = snapshot(c.module.head), snapshot(c.module.tail)
    before = reconstruction_error(c.module, data)
    # Adam, as the paper trains its autoencoders (an 8-layer AE is slow to start under SGD).
    result = train_candidate(c, data, dataclasses.replace(CONFIG, optimizer="adam", lr=1e-2), progress=False)
    history = result.stages[0].result.loss_history
    assert reconstruction_error(c.module, data) < 0.7 * before and history[-1] < history[0]
    assert same(snapshot(c.module.head), head) and same(snapshot(c.module.tail), tail)
    assert result.test_accuracy is not None


def test_finetune_adds_a_stage_of_every_layer_and_bad_settings_are_refused(base):
    c = candidate(base, options={"finetune": True})
    assert [(s.name, s.trainable, s.lr_scale) for s in c.stages][1] == ("finetune", None, 0.1)
    with pytest.raises(ModelError, match="input"):
        candidate(base, split="input")
    with pytest.raises(ModelError, match="compression_ratio"):
        candidate(base, compression_ratio=None)
