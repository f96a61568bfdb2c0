import dataclasses
import json

import pytest
import torch

import netmodels.baseline as baseline_module
from netmodels.baseline import dataset_fingerprint, get_baseline, weights_digest
from netmodels.data import load_dataset
from netmodels.training.config import TrainConfig
from splitbase import DataError

SHAPE = (1, 16, 16)
CONFIG = TrainConfig(steps=6, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")
DATA_SIZE = (128, 32)


@pytest.fixture
def counted_train(monkeypatch):
    calls = []
    original = baseline_module.train

    def counting(*args, **kwargs):
        calls.append(args[2])
        return original(*args, **kwargs)

    monkeypatch.setattr(baseline_module, "train", counting)
    return calls


def test_baseline_is_trained_once_then_loaded(data, tmp_path, counted_train):
    first = get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False)
    second = get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False)
    assert len(counted_train) == 1
    assert first.trained_now and not second.trained_now
    assert second.test_accuracy == first.test_accuracy and second.path == first.path
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()))
    assert sorted(p.suffix for p in (tmp_path / "baselines").iterdir()) == [".json", ".pt"]  # checkpoint gone
    meta = json.loads(first.path.with_suffix(".json").read_text())
    assert meta["model"] == "small-cnn" and meta["input_shape"] == [1, 16, 16] and meta["num_classes"] == 10
    assert meta["config"]["lr"] == 0.05 and meta["config_fingerprint"] == CONFIG.fingerprint()
    assert meta["test_accuracy"] == first.test_accuracy and meta["wall_time_s"] > 0
    assert first.path.name.startswith("small-cnn-synthetic-1x16x16-10c-")
    assert not first.model.training


def test_runtime_settings_share_a_baseline_but_training_settings_do_not(data, tmp_path, counted_train):
    get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False)
    get_baseline("small-cnn", data, dataclasses.replace(CONFIG, device="auto", bf16=False, checkpoint_every_steps=2),
                 cache_dir=tmp_path, progress=False)
    assert len(counted_train) == 1
    get_baseline("small-cnn", data, dataclasses.replace(CONFIG, lr=0.01), cache_dir=tmp_path,
                 progress=False)
    assert len(counted_train) == 2


def test_other_data_gets_another_baseline(data, tmp_path, counted_train):
    other = load_dataset("synthetic", shape=SHAPE, num_train=128, num_test=32, seed=1)
    assert dataset_fingerprint(other) != dataset_fingerprint(data)
    a = get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False)
    b = get_baseline("small-cnn", other, CONFIG, cache_dir=tmp_path, progress=False)
    assert len(counted_train) == 2 and a.path != b.path


def test_a_corrupt_cache_entry_is_a_clear_error(data, tmp_path):
    entry = get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False)
    entry.path.write_bytes(b"not a state dict")
    with pytest.raises(DataError, match="cached baseline unreadable"):
        get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False)


def test_the_default_cache_is_the_environments_not_the_working_folder(data, tmp_path, monkeypatch):
    monkeypatch.setenv("SPLIT_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    entry = get_baseline("small-cnn", data, CONFIG, progress=False)
    assert entry.path.parent == (tmp_path / "cache" / "baselines").resolve()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert not get_baseline("small-cnn", data, CONFIG, progress=False).trained_now


def test_the_weights_digest_names_the_weights_bit_for_bit(data, tmp_path):
    first = get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False)
    state = first.model.state_dict()
    assert first.digest == weights_digest(state) == json.loads(first.path.with_suffix(".json").read_text())["weights_digest"]
    changed = {name: tensor.clone() for name, tensor in state.items()}
    name = next(n for n, t in changed.items() if t.is_floating_point())
    changed[name].view(-1)[0] = torch.nextafter(changed[name].view(-1)[0], torch.tensor(1e9))
    assert weights_digest(changed) != first.digest
    # an entry cached before digests were recorded gets its digest from the weights it loads
    meta_path = first.path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    del meta["weights_digest"]
    meta_path.write_text(json.dumps(meta))
    assert get_baseline("small-cnn", data, CONFIG, cache_dir=tmp_path, progress=False).digest == first.digest
