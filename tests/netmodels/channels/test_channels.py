"""Channel layers: noise statistics, the BEC averaging rule, straight-through gradients, states."""
from __future__ import annotations

import copy
import pickle

import pytest
import torch

from netmodels.channels import (
    CHANNELS,
    AWGNChannel,
    BECChannel,
    BSCChannel,
    Channel,
    ChannelSpec,
    IdealChannel,
    build_channel,
    erase_bits,
    erased_value,
    flip_bits,
)
from netmodels.codecs import fake_quantize, quantize
from splitbase import ModelError


@pytest.mark.parametrize("psnr_db", [0.0, 10.0, 20.0, 30.0])
def test_awgn_noise_variance_follows_psnr(psnr_db: float) -> None:
    torch.manual_seed(0)
    x = torch.full((4, 10, 50, 20), 0.5)  # 40k samples: variance estimate within ~1 %
    noise = AWGNChannel(psnr_db).eval()(x) - x
    assert noise.var().item() == pytest.approx(10 ** (-psnr_db / 10), rel=0.05)  # eq. (1): sigma^2 = 10^(-PSNR/10)
    assert abs(noise.mean().item()) < 4 * 10 ** (-psnr_db / 20) / 200


def test_awgn_is_differentiable_and_repeatable() -> None:
    x = torch.rand(3, 4, 5, requires_grad=True)
    channel = AWGNChannel(15.0)
    channel(x).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(1)
    a = channel(x)
    torch.manual_seed(1)
    assert torch.equal(a, channel(x))


def test_erased_bit_is_the_average_of_its_two_values() -> None:
    six = torch.tensor([6])  # 110
    leftmost = torch.tensor([[False, False, True]])  # bit 2 (weight 4) erased
    assert erased_value(six, leftmost).item() == 4.0  # mean(010, 110), the paper's example
    two = torch.tensor([[True, False, True]])  # bits 0 and 2: mean(010, 011, 110, 111) = 4.5
    assert erased_value(six, two).item() == 4.5
    assert erased_value(six, torch.zeros(1, 3, dtype=torch.bool)).item() == 6.0
    assert erased_value(six, torch.ones(1, 3, dtype=torch.bool)).item() == 3.5  # nothing known: mid-range
    # Through the layer: x = 6/7 at n = 3 and p = 1 erases everything -> 3.5 / 7.
    channel = BECChannel(1.0, bits=3).eval()
    assert torch.allclose(channel(torch.full((2, 4), 6 / 7)), torch.full((2, 4), 0.5))


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_bec_erasure_rate(p: float) -> None:
    torch.manual_seed(0)
    levels = torch.randint(0, 256, (8, 4000))
    value, erased = erase_bits(levels, 8, p)
    assert erased.float().mean().item() == pytest.approx(p, abs=0.01)
    assert torch.equal(value, erased_value(levels, erased))
    # One-bit layer: an erased bit reads as 0.5, so the share of 0.5 outputs estimates p.
    out = BECChannel(p, bits=1).eval()(torch.randint(0, 2, (8, 4000)).float())
    assert (out == 0.5).float().mean().item() == pytest.approx(p, abs=0.01)


@pytest.mark.parametrize("p", [0.02, 0.25])
def test_bsc_flip_rate(p: float) -> None:
    torch.manual_seed(0)
    levels = torch.randint(0, 16, (8, 4000))
    received, flipped = flip_bits(levels, 4, p)
    assert flipped.float().mean().item() == pytest.approx(p, abs=0.01)
    weights = 2 ** torch.arange(4)
    assert torch.equal(received ^ levels, (flipped.long() * weights).sum(-1))
    x = torch.randint(0, 2, (8, 4000)).float()
    assert (BSCChannel(p, bits=1).eval()(x) != x).float().mean().item() == pytest.approx(p, abs=0.01)


@pytest.mark.parametrize("cls", [BECChannel, BSCChannel])
def test_digital_channels_quantise_and_pass_gradients_straight_through(cls: type[Channel]) -> None:
    x = (torch.rand(2, 3, 4, 4) * 1.4 - 0.2).requires_grad_()  # some values outside [0, 1]
    y = cls(0.0, bits=5).eval()(x)
    expected = fake_quantize(x.detach().clamp(0, 1), 5)
    assert torch.allclose(y, expected) and torch.equal(quantize(y, 5).float() / 31, expected)  # X~, paper III.B
    cls(0.2, bits=5)(x).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_states_fixed_in_eval_and_drawn_per_batch_in_training() -> None:
    channel = AWGNChannel(psnr_db=20, train_range=(10, 25))
    channel.eval()
    assert torch.equal(channel.sample_state(5), torch.full((5,), 20.0))
    channel.train()
    torch.manual_seed(0)
    draws = torch.stack([channel.sample_state(6) for _ in range(200)])
    assert ((draws >= 10) & (draws <= 25)).all() and (draws == draws[:, :1]).all()  # one value per batch
    assert draws[:, 0].std() > 3  # really drawn (uniform on [10, 25]: std 4.3)
    per_sample = BECChannel(0.1, train_range=(0.0, 0.2), per_sample=True)
    state = per_sample.sample_state(1000)
    assert ((state >= 0) & (state <= 0.2)).all() and state.unique().numel() > 900
    # The caller draws the state before the encoder runs and passes the same one to the channel.
    x = torch.rand(1000, 8)
    per_sample(x, state)
    assert per_sample.state is not None and torch.equal(per_sample.state, state)
    with pytest.raises(ModelError, match="state"):
        per_sample(x, torch.zeros(3))


def test_bits_per_element_registry_and_bad_parameters() -> None:
    assert {"awgn", "bec", "bsc", "none"} <= set(CHANNELS.names())
    assert AWGNChannel().bits_per_element(8) == 32 and AWGNChannel().unit == "real"  # a real value as a float32
    assert build_channel("bec", p=0.1, bits=4).bits_per_element(32) == 4
    assert build_channel("bsc", bits=2).bits_per_element(32) == 2
    ideal = build_channel("none")
    assert isinstance(ideal, IdealChannel) and ideal.bits_per_element(8) == 8 and ideal.bits_per_element(32) == 32
    assert not ideal.noisy and all(CHANNELS.get(name).noisy for name in ("awgn", "bec", "bsc"))
    x = torch.rand(2, 3)
    assert torch.equal(ideal(x), x) and torch.equal(ideal.sample_state(2), torch.zeros(2))
    with pytest.raises(ModelError, match="known: awgn, bec"):
        build_channel("rayleigh")
    with pytest.raises(ModelError, match="probability"):
        BECChannel(1.5)
    with pytest.raises(ModelError, match="bits"):
        BSCChannel(0.1, bits=0)
    with pytest.raises(ModelError, match="low <= high"):
        AWGNChannel(20, train_range=(25, 10))
    with pytest.raises(ModelError, match="'awgn'"):
        build_channel("awgn", p=0.1)


def test_channel_spec_reads_settings_and_defaults_from_the_channel() -> None:
    spec = ChannelSpec("bec", train_range=[0.0, 0.1])
    assert (spec.p, spec.bits, spec.train_range, spec.per_sample) == (0.01, 8, (0.0, 0.1), False)
    assert spec.state == 0.01 and ChannelSpec("awgn").state == 20.0 and ChannelSpec().state == 0.0
    assert ChannelSpec.from_mapping(spec.record()) == spec and hash(ChannelSpec.from_mapping(spec.record())) == hash(spec)
    assert ChannelSpec.from_mapping({"kind": "bec", "psnr_db": None, "p": 0.01}) == ChannelSpec("bec")  # null: default
    assert isinstance(spec.build(), BECChannel) and spec.build().train_range == (0.0, 0.1)
    with pytest.raises(ModelError, match=r"channel 'none' takes no train_range \(settings: none\)"):
        ChannelSpec("none", train_range=(0, 1))
    with pytest.raises(ModelError, match="channel 'awgn': could not convert"):
        ChannelSpec("awgn", psnr_db="loud")
    with pytest.raises(AttributeError):
        spec.p = 0.5
    assert copy.deepcopy(spec) == spec and pickle.loads(pickle.dumps(spec)) == spec


@pytest.mark.parametrize("kind", CHANNELS.names())
def test_every_registered_channel_keeps_the_shape_and_states_its_bits(kind) -> None:
    """The contract a new channel meets: a spec with its defaults builds it, it keeps x's shape
    and dtype, its state has the setting it names, and it counts bits per element."""
    spec = ChannelSpec(kind)
    channel = spec.build().eval()
    x = torch.rand(3, 4, 5)
    y = channel(x, channel.sample_state(3))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert channel.bits_per_element(32) >= 1 and channel.unit in ("bit", "real")
    assert spec.state == (0.0 if channel.state_setting is None else getattr(spec, channel.state_setting))
