"""Fixtures shared by the netmodels tests: a synthetic data set and a small-cnn base model.

A test module sets SHAPE (C, H, W) and CONFIG (a TrainConfig), and may set DATA_SIZE
(train, test images; default 256, 64) and BASE_EPOCHS (default 4).
"""
import dataclasses

import pytest

from netmodels.baseline import get_baseline
from netmodels.data import load_dataset


@pytest.fixture(scope="module")
def data(request):
    train, test = getattr(request.module, "DATA_SIZE", (256, 64))
    return load_dataset("synthetic", shape=request.module.SHAPE, num_train=train, num_test=test)


@pytest.fixture(scope="module")
def base(data, request, tmp_path_factory):
    config = dataclasses.replace(request.module.CONFIG, epochs=getattr(request.module, "BASE_EPOCHS", 4))
    return get_baseline("small-cnn", data, config, cache_dir=tmp_path_factory.mktemp("baselines"),
                        progress=False).model
