"""A tiny search study (small-cnn on synthetic data, seconds per trial) and helpers the search
tests share."""
import os
from pathlib import Path

import optuna
import yaml

from explorer.studies.search import resolve_search

STUDY = {
    "name": "tiny",
    "model": "small-cnn",
    "dataset": {"name": "synthetic",
                "options": {"num_classes": 4, "shape": [1, 32, 32], "num_train": 128, "num_test": 64}},
    "device": "raspberry-pi-3",
    "link": "wifi-80211bgn-004:2mbps",
    "server": "rtx-2080ti",
    "space": {"split": ["pool1", "conv2", "pool2", "conv3"], "compression_ratio": [4, 16],
              "method": ["bottlenetpp"], "channel": [{"kind": "bec", "p": 0.01, "bits": 8}]},
    "objectives": ["accuracy", "latency"],
    "constraints": {"max_accuracy_drop": 50.0},
    "training": {"baseline": {"steps": 4, "batch_size": 32, "device": "cpu"},
                 "candidate": {"steps": 2, "batch_size": 32, "device": "cpu"}},
    "search": {"trials": 4, "seed": 0, "heartbeat_s": 1, "sampler": "random"},
}


ROOT = Path(__file__).resolve().parents[3]


def python_path() -> str:
    """PYTHONPATH for a worker process the tests start: the checkout first, then what this
    interpreter was given (packages installed beside the project, as on the GPU machines)."""
    return os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


def write(tmp_path, study):
    """`study` as tmp_path/study.yaml, its results in tmp_path/out."""
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**study, "output": str(tmp_path / "out")}))
    return path


def trials(path):
    resolved = resolve_search(path)
    return optuna.load_study(study_name=resolved.study.name, storage=resolved.storage).get_trials()


def trained(all_trials):
    """The trials that trained their candidate (not pruned, not reusing a twin's training)."""
    return [t for t in all_trials if t.state.name == "COMPLETE" and "reused_from" not in t.user_attrs]
