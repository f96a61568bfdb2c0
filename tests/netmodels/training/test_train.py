import dataclasses
import io
import math
import sys

import pytest
import torch

from netmodels.candidate import CandidateSpec, ChannelSpec, build_candidate
from netmodels.data import load_dataset
from netmodels.training.config import TrainConfig
from netmodels.training.evaluate import evaluate, evaluate_over_channel
from netmodels.training.loop import cudnn_settings, train

from netmodels.training.schedule import lr_factor
from netmodels.zoo import build_model
from splitbase import ModelError, StudyError

SHAPE = (1, 16, 16)
EASY = dict(batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")  # CPU: exact comparisons


def small_cnn(seed=0):
    torch.manual_seed(seed)
    return build_model("small-cnn", input_shape=SHAPE, num_classes=10)


def awgn_candidate(seed=0):
    """A SplitModel whose forward draws channel states and noise: resume must restore those too."""
    spec = CandidateSpec("small-cnn", "synthetic", "pool1", compression_ratio=8, method="bottlenetpp",
                         channel=ChannelSpec("awgn", psnr_db=20, train_range=(10, 30)))
    torch.manual_seed(seed)
    return build_candidate(spec, input_shape=SHAPE, num_classes=10).module


def test_training_lowers_the_loss_and_learns(data):
    result = train(small_cnn(), data, TrainConfig(epochs=4, **EASY), progress=False)
    assert result.loss_history[-1] < 0.5 * result.loss_history[0]
    assert result.test_accuracy > 0.8
    assert result.completed and result.steps == result.total_steps == 4 * (256 // 32)
    assert result.images_per_s > 0 and result.wall_time_s > 0


@pytest.mark.parametrize("stop_after", [13, 16])  # mid-epoch, and right at an epoch end
def test_killed_and_resumed_run_ends_bit_identical(data, tmp_path, stop_after):
    config = TrainConfig(epochs=3, batch_size=32, lr=0.05, device="cpu")  # with crop/flip augmentation
    uninterrupted = awgn_candidate()
    expected = train(uninterrupted, data, config, progress=False)

    path = tmp_path / "run.pt"
    killed = awgn_candidate()
    first = train(killed, data, dataclasses.replace(config, checkpoint_path=str(path), checkpoint_every_steps=5,
                                                     stop_after_steps=stop_after), progress=False)
    assert first.steps == stop_after and first.test_accuracy is None and not first.completed
    resumed_module = awgn_candidate()
    torch.manual_seed(1234)  # a different global random state: the checkpoint must restore it
    resumed = train(resumed_module, data, dataclasses.replace(config, checkpoint_path=str(path), checkpoint_every_steps=5), progress=False)
    assert resumed.resumed_from_step == {13: 10, 16: 15}[stop_after]  # the last checkpoint before the kill
    got, want = resumed_module.state_dict(), uninterrupted.state_dict()
    assert got.keys() == want.keys()
    for name in want:
        assert torch.equal(got[name], want[name]), name
    assert resumed.loss_history == expected.loss_history
    assert resumed.test_accuracy == expected.test_accuracy


def test_finished_checkpoint_only_evaluates(data, tmp_path):
    path = str(tmp_path / "done.pt")
    model = small_cnn()
    first = train(model, data, TrainConfig(steps=6, checkpoint_path=path, **EASY), progress=False)
    again = small_cnn(seed=5)
    second = train(again, data, TrainConfig(steps=6, checkpoint_path=path, **EASY), progress=False)
    assert second.resumed_from_step == 6 and second.images_per_s == 0.0
    assert second.test_accuracy == first.test_accuracy
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_resume_refuses_a_checkpoint_of_another_config(data, tmp_path):
    path = str(tmp_path / "run.pt")
    train(small_cnn(), data, TrainConfig(steps=4, checkpoint_path=path, **EASY), progress=False)
    with pytest.raises(StudyError, match="fields differ: lr"):
        train(small_cnn(), data, TrainConfig(steps=4, checkpoint_path=path, **{**EASY, "lr": 0.01}), progress=False)
    smaller = load_dataset("synthetic", shape=SHAPE, num_train=128, num_test=64)
    with pytest.raises(StudyError, match="fields differ: steps_per_epoch, train_images"):
        train(small_cnn(), smaller, TrainConfig(steps=4, checkpoint_path=path, **EASY), progress=False)
    with pytest.raises(StudyError, match="trains other parameters"):
        train(small_cnn(), data, TrainConfig(steps=4, checkpoint_path=path, **EASY), trainable=lambda n, p: "units.0" in n,
              progress=False)


def test_frozen_parameters_and_their_batch_norm_statistics_stay_unchanged(data):
    model = small_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = train(model, data, TrainConfig(steps=5, **EASY), trainable=lambda name, _: name.startswith("units.6."),
                   progress=False)
    after = model.state_dict()
    assert result.trained_params == ["units.6.1.weight", "units.6.1.bias"]
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"units.6.1.weight", "units.6.1.bias"}
    assert all(p.requires_grad for p in model.parameters())  # flags restored after training


def test_trainable_selection_errors(data):
    with pytest.raises(ModelError, match="picks no parameter"):
        train(small_cnn(), data, TrainConfig(steps=1, **EASY), trainable=lambda n, p: False, progress=False)
    with pytest.raises(ModelError, match="not in the module: nope"):
        train(small_cnn(), data, TrainConfig(steps=1, **EASY), trainable=["nope"], progress=False)


def test_no_host_sync_per_step(data, monkeypatch):
    """Loss is read once per epoch (plus once for the accuracy), never per step."""
    calls = []
    original = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: calls.append(1) or original(self))
    result = train(small_cnn(), data, TrainConfig(epochs=2, **EASY), progress=False)
    assert result.steps == 16
    assert len(calls) == 2 + 1


def test_learning_rate_schedules():
    cosine = TrainConfig(steps=100, schedule="cosine")
    assert lr_factor(0, config=cosine, total_steps=100) == 1.0
    assert math.isclose(lr_factor(50, config=cosine, total_steps=100), 0.5)
    step = TrainConfig(steps=100, schedule="step", milestones=(0.5, 0.75), gamma=0.1)
    assert [lr_factor(s, config=step, total_steps=100) for s in (49, 50, 75)] == pytest.approx([1, 0.1, 0.01])
    warm = TrainConfig(steps=100, schedule="constant", warmup_steps=4)
    assert [lr_factor(s, config=warm, total_steps=100) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


@pytest.mark.parametrize("bad, message", [
    (dict(), "exactly one of epochs or steps"),
    (dict(epochs=1, steps=3), "exactly one of epochs or steps"),
    (dict(steps=3, optimizer="lamb"), "optimizer must be one of"),
    (dict(steps=3, schedule="poly"), "schedule must be one of"),
    (dict(steps=0), "steps must be a positive integer"),
    (dict(steps=3, label_smoothing=1.0), "label_smoothing"),
])
def test_config_is_validated(bad, message):
    with pytest.raises(StudyError, match=message):
        TrainConfig(**bad)


def test_fingerprint_ignores_runtime_fields():
    a = TrainConfig(epochs=2, device="cpu", checkpoint_path="x.pt", bf16=False)
    assert a.fingerprint() == TrainConfig(epochs=2).fingerprint()
    assert a.fingerprint() != TrainConfig(epochs=2, lr=0.1).fingerprint()


def test_evaluate_over_channel_sets_each_state_and_restores_it(data):
    spec = CandidateSpec("small-cnn", "synthetic", "pool2", channel=ChannelSpec("bsc", p=0.0, bits=8))
    torch.manual_seed(0)
    candidate = build_candidate(spec, input_shape=SHAPE, num_classes=10)
    train(candidate.module, data, TrainConfig(epochs=3, **EASY), progress=False)
    results = evaluate_over_channel(candidate.module, data, states=[0.0, 0.5], device="cpu")
    assert [s for s, _ in results] == [0.0, 0.5]
    assert results[0][1] > 0.8 and results[1][1] < results[0][1]  # every bit a coin flip: near chance
    assert candidate.module.channel.value == 0.0
    assert evaluate(candidate.module, data, device="cpu") == results[0][1]  # evaluation repeats (seeded noise)
    with pytest.raises(ModelError, match="probability"):
        evaluate_over_channel(candidate.module, data, states=[1.5], device="cpu")


def test_evaluate_over_channel_tells_the_encoder_a_fixed_state_while_the_channel_varies(data):
    """000's case 2: with `told`, the encoder takes that state and the channel its own; neither
    stays set afterwards, and training never reads `told`."""
    spec = CandidateSpec("small-cnn", "synthetic", "pool2", method="bottlenetpp", compression_ratio=8,
                         channel=ChannelSpec("awgn", psnr_db=20.0, train_range=(10.0, 25.0)))
    module = build_candidate(spec, input_shape=SHAPE, num_classes=10).module
    seen = []
    module.encoder.register_forward_pre_hook(lambda _, args: seen.append(("encoder", float(args[1][0]))))
    module.channel.register_forward_pre_hook(lambda _, args: seen.append(("channel", float(args[1][0]))))
    evaluate_over_channel(module, data, states=[10.0, 25.0], told=15.0, device="cpu", batch_size=64)
    assert seen == [("encoder", 15.0), ("channel", 10.0), ("encoder", 15.0), ("channel", 25.0)]
    assert module.channel.told is None and module.channel.value == 20.0
    module.channel.told = 15.0
    module.train()
    state = module.channel.sample_state(4)
    assert torch.equal(module.channel.encoder_state(state), state)  # training: the drawn state


def test_progress_bar_shows_on_a_terminal_only(data, monkeypatch, capsys):
    """tqdm's bar (with the loss beside it) on a terminal; nothing in a log or with progress off."""
    class Tty(io.StringIO):
        def isatty(self):
            return True

    train(small_cnn(), data, TrainConfig(steps=3, **EASY), progress=True, desc="stage")
    assert capsys.readouterr().err == ""  # pytest's stderr is no terminal
    terminal = Tty()
    monkeypatch.setattr(sys, "stderr", terminal)
    train(small_cnn(), data, TrainConfig(steps=3, **EASY), progress=True, desc="stage")
    assert "stage" in terminal.getvalue() and "/3 [" in terminal.getvalue() and "step/s" in terminal.getvalue()
    quiet = Tty()
    monkeypatch.setattr(sys, "stderr", quiet)
    train(small_cnn(), data, TrainConfig(steps=3, **EASY), progress=False)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("deterministic", [True, False])
def test_cudnn_runs_deterministic_or_autotuned_on_cuda_and_the_flags_come_back(deterministic):
    before = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    with cudnn_settings(torch.device("cuda"), deterministic):
        assert torch.backends.cudnn.deterministic is deterministic
        assert torch.backends.cudnn.benchmark is (not deterministic)
    assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) == before
    with cudnn_settings(torch.device("cpu"), deterministic):  # the CPU has no cuDNN: nothing changes
        assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) == before
