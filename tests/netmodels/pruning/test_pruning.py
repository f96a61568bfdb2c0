import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from explorer.profile.table import profile_model
from netmodels.candidate import CandidateSpec, ChannelSpec, PruningStage, build_candidate
from netmodels.pruning import (
    ChannelPruner,
    ChannelScatter,
    ChannelSelect,
    SparsitySchedule,
    one_shot_keep,
    plan_pruning,
    prune_physically,
    pruned_count,
)
from netmodels.recipes import train_candidate
from netmodels.training.config import TrainConfig
from netmodels.training.evaluate import evaluate
from netmodels.training.loop import train
from netmodels.zoo import UnitModel, build_model
from splitbase import ModelError
from tests.netmodels.training_checks import seeded_candidate, training_loss

SHAPE = (1, 32, 32)
RESNET_SHAPE = (1, 16, 16)  # resnet18-cifar's stem keeps 16x16: cheap and still every stage
CONFIG = TrainConfig(epochs=3, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")


def model(name="small-cnn", shape=SHAPE, seed=0):
    torch.manual_seed(seed)
    m = build_model(name, input_shape=shape, num_classes=10)
    with torch.no_grad():  # non-trivial BN statistics, so eval mode is a real test
        for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.bias.uniform_(-0.5, 0.5)
    return m


def candidate(base, **kw):
    return seeded_candidate(base, SHAPE, **kw)


def zeroed_channels(conv):
    return int((conv.weight.detach().flatten(1).abs().sum(1) == 0).sum())


@pytest.mark.parametrize("kind", ["linear", "cubic"])
def test_schedule_rises_monotonically_to_the_target_then_holds(kind):
    schedule = SparsitySchedule(kind, ramp=0.5, levels=4)
    fractions = [schedule.fraction(t, 40) for t in range(40)]
    assert fractions[0] == 0.0 and all(b >= a for a, b in zip(fractions, fractions[1:]))
    assert fractions[19] == 1.0 and set(fractions[19:]) == {1.0}  # reached at the ramp's end, held
    assert len(set(fractions)) == 5  # 0 and four increments
    assert (fractions[8] < 0.5 if kind == "linear" else fractions[8] > 0.5)  # cubic prunes fastest first
    with pytest.raises(ModelError, match="prune_schedule must be linear or cubic"):
        SparsitySchedule("exp")


def test_masks_reach_the_target_sparsity_exactly_in_every_layer():
    m = model()
    plan = plan_pruning(m, m.split_index("pool3"), scope="head")
    assert [(layer.conv, layer.feature) for layer in plan.layers] == [
        ("units.0.0", False), ("units.2.0", False), ("units.4.0", True)]
    pruner = ChannelPruner(m, plan, sparsity=0.5, feature_sparsity=0.25, schedule=SparsitySchedule("linear", 1.0, 4))
    with pruner.attached():
        for step, fraction in ((0, 0.25), (2, 0.75), (3, 1.0)):
            pruner.before_step(step, 4)
            for layer in plan.layers:
                target = (0.25 if layer.feature else 0.5) * fraction
                assert zeroed_channels(m.get_submodule(layer.conv)) == pruned_count(target, layer.channels)
                assert int((m.get_submodule(layer.bn).weight == 0).sum()) == pruned_count(target, layer.channels)
            pruner.after_step(step, 4)
    # after the last step the final masks stay: 8 of 16, 16 of 32, 16 of 64 channels
    assert [zeroed_channels(m.get_submodule(layer.conv)) for layer in plan.layers] == [8, 16, 16]
    assert pruned_count(0.5, 5) == 3 and pruned_count(0.99, 4) == 3  # halves up, one channel always kept


def test_masked_weights_are_restored_after_the_step_and_unmasked_ones_are_updated():
    m = model()
    plan = plan_pruning(m, m.split_index("pool3"), scope="head")
    pruner = ChannelPruner(m, plan, sparsity=0.5, feature_sparsity=0.5, schedule=SparsitySchedule("linear", 0.5, 1))
    before = {k: v.clone() for k, v in m.state_dict().items()}
    optimizer = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x, y = torch.randn(8, *SHAPE), torch.randint(0, 10, (8,))
    m.train()
    pruner.before_step(0, 2)
    masked = {layer.conv: m.get_submodule(layer.conv).weight.detach().flatten(1).abs().sum(1) == 0
              for layer in plan.layers}
    assert all(mask.sum() == layer.channels // 2 for layer, mask in zip(plan.layers, masked.values()))
    F.cross_entropy(m(x), y).backward()
    optimizer.step()
    pruner.after_step(0, 2)
    after = m.state_dict()
    for layer in plan.layers:
        mask = masked[layer.conv]
        for name in (f"{layer.conv}.weight", f"{layer.bn}.weight", f"{layer.bn}.bias",
                     f"{layer.bn}.running_mean", f"{layer.bn}.running_var"):
            assert torch.equal(after[name][mask], before[name][mask])  # restored exactly
            assert not torch.equal(after[name][~mask], before[name][~mask])  # trained


def test_the_loop_calls_the_hooks_around_every_step(data):
    m = model()
    plan = plan_pruning(m, m.split_index("pool2"), scope="head")
    pruner = ChannelPruner(m, plan, sparsity=0.5, feature_sparsity=0.5)
    calls = []

    class Recorder:
        def before_step(self, step, total):
            calls.append(("before", step, total))
            pruner.before_step(step, total)

        def after_step(self, step, total):
            calls.append(("after", step, total))
            pruner.after_step(step, total)

    config = dataclasses.replace(CONFIG, epochs=None, steps=3)
    result = train(m, data, config, hooks=Recorder(), progress=False)
    assert calls == [(when, step, 3) for step in range(3) for when in ("before", "after")]
    physical = pruner.physical_model()
    assert result.test_accuracy == evaluate(physical, data, device="cpu")  # the masked model is the pruned one


@pytest.mark.parametrize("name, shape, split, select", [
    ("small-cnn", SHAPE, "pool1", False),
    ("small-cnn", SHAPE, "conv3", False),
    ("small-cnn", SHAPE, "fc", False),          # conv3 feeds the classifier: fc's inputs shrink by blocks
    ("resnet18-cifar", RESNET_SHAPE, "layer1.1", True),
    ("resnet18-cifar", RESNET_SHAPE, "conv1", False),   # the stem feeds a residual block: a scatter
])
def test_physical_head_is_smaller_and_computes_what_the_masked_one_does(name, shape, split, select):
    m = model(name, shape)
    k = m.split_index(split)
    plan = plan_pruning(m, k, scope="head")
    masked = copy.deepcopy(m)
    pruner = ChannelPruner(masked, plan_pruning(masked, k, scope="head"), sparsity=0.5, feature_sparsity=0.5)
    physical = prune_physically(m, plan, one_shot_keep(m, plan, sparsity=0.5, feature_sparsity=0.5))
    x = torch.randn(4, *shape)
    with pruner.attached():
        pruner.finalize()
        masked.eval(), physical.eval()
        with torch.no_grad():
            assert torch.allclose(physical(x), masked(x), atol=1e-5)
            assert torch.allclose(physical.head(k)(x), masked.head(k)(x)[:, pruner.keep.select], atol=1e-5) \
                if select else True
    head = UnitModel(list(zip(m.unit_names[:k + 1], physical.head(k))), input_shape=shape, num_classes=10)
    traced = profile_model(head, name=f"{name}-pruned")  # explorer prices the pruned head (no unknown op)
    unpruned = profile_model(UnitModel(list(zip(m.unit_names[:k + 1], m.head(k))), input_shape=shape,
                                       num_classes=10), name=name).total_macs
    assert 0 < traced.total_macs < unpruned
    assert sum(p.numel() for p in physical.head(k).parameters()) < sum(p.numel() for p in m.head(k).parameters())
    last = physical.units[k]
    assert (isinstance(last, torch.nn.Sequential) and isinstance(last[-1], ChannelSelect)) == select


def test_channel_select_and_scatter_round_trip_and_reload_their_indices():
    select, scatter = ChannelSelect([5, 0, 1, 3], 6), ChannelScatter([0, 1, 3, 5], 6)
    x = torch.randn(2, 6, 3, 3)
    assert torch.equal(select(x), x[:, [0, 1, 3, 5]])
    back = scatter(select(x))
    assert torch.equal(back[:, [0, 1, 3, 5]], x[:, [0, 1, 3, 5]]) and not back[:, [2, 4]].any()
    flat = ChannelSelect([1], 3, block=2)
    assert torch.equal(flat(torch.arange(6.0).view(1, 6)), torch.tensor([[2.0, 3.0]]))
    other = ChannelSelect([0, 2, 3, 4], 6)
    other.load_state_dict(select.state_dict())
    assert torch.equal(other(x), select(x))


def test_activation_pruning_shrinks_the_feature_sent_and_the_payload():
    dense = candidate(None).profile
    pruned = candidate(None, sparsity=0.5).profile
    assert dense.feature_shape == (32, 8, 8) and pruned.feature_shape == (16, 8, 8)
    assert pruned.payload_bits == dense.payload_bits / 2 and pruned.raw_feature_bits == dense.raw_feature_bits / 2
    assert pruned.unpruned_feature_bits == dense.raw_feature_bits and pruned.compression_ratio == 1.0
    assert pruned.feature_sparsity == 0.5 and pruned.pruned_channels == 8 + 16
    assert pruned.head_macs < dense.head_macs and pruned.head_params < dense.head_params
    only_feature = candidate(None, options={"feature_sparsity": 0.75}).profile
    assert only_feature.feature_shape == (8, 8, 8) and only_feature.pruned_channels == 24


def test_residual_head_sends_the_selected_channels():
    torch.manual_seed(0)
    spec = CandidateSpec(model="resnet18-cifar", dataset="synthetic", split="layer1.1", sparsity=0.5,
                         method="bottlenetpp", compression_ratio=8, channel=ChannelSpec("bsc", p=0.01, bits=4))
    c = build_candidate(spec, input_shape=RESNET_SHAPE, num_classes=10)
    assert c.profile.feature_shape == (32, 16, 16) and c.profile.unpruned_feature_bits == 64 * 16 * 16 * 32
    assert isinstance(c.module.head[-1][-1], ChannelSelect) and isinstance(c.module.tail[0][0], ChannelScatter)
    assert c.module.encoder.conv.in_channels == 32 + 1  # the encoder takes the pruned feature (+ state plane)
    assert c.profile.compression_ratio == 32 * 16 * 16 * 32 / (c.profile.sent_elements * 4)
    head = c.head_model()
    assert head.unit_names == ("conv1", "layer1.0", "layer1.1") and head.units[-1] is c.module.head[-1]
    assert profile_model(head, name="pruned").total_macs == c.profile.head_macs  # what explorer prices


@pytest.mark.parametrize("method, ratio", [("none", None), ("bottlenetpp", 16), ("threestep", 64)])
def test_sparsity_is_accepted_by_the_methods_and_pruning_comes_first(base, method, ratio):
    c = candidate(base, method=method, compression_ratio=ratio, sparsity=0.5)
    first = c.stages[0]
    assert isinstance(first, PruningStage) and first.name == "prune" and first.trainable is None
    assert (first.step.scope, first.step.sparsity, first.step.feature_sparsity) == ("head", 0.5, 0.5)
    assert c.profile.feature_shape == (16, 8, 8)
    if method == "bottlenetpp":
        assert c.module.encoder.conv.in_channels == 16
    assert c.module(torch.randn(2, *SHAPE)).shape == (2, 10)


def test_pruning_stage_trains_lowers_the_loss_and_installs_the_pruned_head(base, data, tmp_path):
    c = candidate(base, sparsity=0.5, options={"finetune": True})
    built_head = c.module.head  # pruned in one shot from the base weights
    shapes = [p.shape for p in c.module.parameters()]
    one_shot = training_loss(c.module, data)
    result = train_candidate(c, data, CONFIG, checkpoint_dir=tmp_path, progress=False)
    assert [s.stage for s in result.stages] == ["prune", "finetune"]
    prune = result.stages[0].result
    assert training_loss(c.module, data) < one_shot
    assert c.module.head is not built_head and [p.shape for p in c.module.parameters()] == shapes
    assert c.module.head[0][0].out_channels == 8 and c.module.tail[0][0].in_channels == 16
    assert result.test_accuracy == evaluate(c.module, data, device="cpu") and result.test_accuracy > 0.5
    again = candidate(base, sparsity=0.5, options={"finetune": True})
    resumed = train_candidate(again, data, CONFIG, checkpoint_dir=tmp_path, progress=False)
    assert [s.result.resumed_from_step for s in resumed.stages] == [24, 24]
    assert resumed.stages[0].result.test_accuracy == prune.test_accuracy
    assert all(torch.equal(a, b) for a, b in zip(again.module.state_dict().values(), c.module.state_dict().values()))
    with pytest.raises(ModelError, match="pruning stage 'prune' already ran on this candidate"):
        train_candidate(c, data, CONFIG, progress=False)


@pytest.mark.parametrize("model_name, shape, kw, message", [
    ("small-cnn", SHAPE, dict(split="input", sparsity=0.5), "nothing runs on the device, there is nothing to prune"),
    ("mobilenetv2", (3, 32, 32), dict(split="features.1", sparsity=0.5), "no prunable channels in the head"),
    ("small-cnn", SHAPE, dict(split="fc", sparsity=0.5, options={"feature_sparsity": 0.5}),
     "feature_sparsity: the feature after 'fc'"),
    ("small-cnn", SHAPE, dict(split="pool2", sparsity=0.5, options={"prune_schedule": "exp"}), "prune_schedule"),
    ("small-cnn", SHAPE, dict(split="pool2", sparsity=0.5, options={"feature_sparsity": 1.0}),
     r"feature_sparsity: must be in \[0, 1\)"),
])
def test_pruning_that_cannot_apply_is_a_one_line_model_error(model_name, shape, kw, message):
    spec = CandidateSpec(model=model_name, dataset="synthetic", **kw)
    with pytest.raises(ModelError, match=message) as info:
        build_candidate(spec, input_shape=shape, num_classes=10)
    assert "\n" not in str(info.value)
