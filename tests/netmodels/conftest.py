"""Fixtures shared by the netmodels tests: a synthetic data set and a small-cnn base model.

A test module sets SHAPE (C, H, W) and CONFIG (a TrainConfig), and may set DATA_SIZE
(train, test images; default 256, 64). Base models train for BASE_EPOCHS with the module's
CONFIG otherwise; they are cached for the whole session, so modules of one shape and training
settings share one base model instead of training their own.
"""
import dataclasses

import pytest

from netmodels.baseline import get_baseline
from netmodels.data import load_dataset

BASE_EPOCHS = 4


@pytest.fixture(scope="session")
def baseline_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("netmodels-baselines")


@pytest.fixture(scope="module")
def data(request):
    train, test = getattr(request.module, "DATA_SIZE", (256, 64))
    return load_dataset("synthetic", shape=request.module.SHAPE, num_train=train, num_test=test)


@pytest.fixture(scope="module")
def base(data, request, baseline_cache):
    config = dataclasses.replace(request.module.CONFIG, epochs=BASE_EPOCHS)
    return get_baseline("small-cnn", data, config, cache_dir=baseline_cache, progress=False).model
