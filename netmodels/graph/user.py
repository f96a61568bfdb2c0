"""A user's own network, named by a Python file and a factory in it, as a zoo model.

`ModelRef(path, factory, kwargs, input, classes)` names it; `register_user_model(ref)` imports the
file (running the user's own code), calls `factory(**kwargs)`, checks it traces, and adds it to
netmodels.zoo.USER_MODELS under a name derived from the file's bytes and the reference, so that every
consumer of a model name (profile, baseline, candidates, search, export) builds it as it builds
a zoo model: `build_model(name)` traces a fresh instance into a GraphUnitModel.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from netmodels.graph.cuts import Keep
from netmodels.graph.model import GraphUnitModel, graph_unit_model
from netmodels.zoo import USER_MODELS, ModelSpec
from splitbase import ModelError


@dataclass(frozen=True)
class ModelRef:
    """A user model: `factory(**kwargs)` from the Python file `path`, for inputs of `input`
    (C, H, W) and `classes` outputs (None: whatever the model returns); `cuts` keeps every valid
    cut, only single-tensor ones or only block boundaries; `leaf_modules` (qualified or class
    names) are not traced into."""

    path: str
    factory: str
    input: tuple[int, int, int]
    classes: int | None = None
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    cuts: Keep = "all"
    leaf_modules: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.path}:{self.factory}"


def _module(path: Path):
    """The file imported as a module of its own, named by its path and bytes: two files of one
    stem never clash, and an edited file is imported afresh."""
    digest = hashlib.blake2b(str(path).encode(), digest_size=8)
    digest.update(path.read_bytes())
    name = "split_explorer_user_" + digest.hexdigest()
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"{path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code may raise anything while it is imported
        del sys.modules[name]
        raise ModelError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from None
    return module


def instantiate(ref: ModelRef) -> nn.Module:
    """A fresh `factory(**kwargs)` from the reference's file; ModelError naming what is wrong."""
    path = Path(ref.path)
    if not path.is_file():
        raise ModelError(f"{ref.path}: no such file")
    factory = getattr(_module(path.resolve()), ref.factory, None)
    if not callable(factory):
        raise ModelError(f"{ref.label}: the file has no callable {ref.factory!r}")
    try:
        model = factory(**ref.kwargs)
    except Exception as exc:  # the user's factory may raise anything
        raise ModelError(f"{ref.label}: calling it with kwargs {json.dumps(ref.kwargs)} failed: "
                         f"{type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise ModelError(f"{ref.label}: returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def build_user_model(ref: ModelRef) -> GraphUnitModel:
    """The reference's model, traced and cut (netmodels.graph.graph_unit_model)."""
    return graph_unit_model(instantiate(ref), ref.input, num_classes=ref.classes, keep=ref.cuts,
                            leaf_modules=ref.leaf_modules, what=ref.label)


def user_model_name(ref: ModelRef) -> str:
    """`user-<file stem>-<factory>-<16 hex digits>`: a hash of the file's bytes and the whole
    reference, so a changed file or option never reuses another's cached base model."""
    digest = hashlib.blake2b(Path(ref.path).read_bytes(), digest_size=8)
    digest.update(json.dumps([str(Path(ref.path).resolve()), ref.factory, ref.kwargs, list(ref.input), ref.classes,
                              ref.cuts, list(ref.leaf_modules)], sort_keys=True).encode())
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{Path(ref.path).stem}-{ref.factory}")
    return f"user-{stem}-{digest.hexdigest()}"


def register_user_model(ref: ModelRef) -> str:
    """Trace the reference's model once (errors here, not later), add it to USER_MODELS and
    return its name; registering the same reference again returns the same name."""
    name = user_model_name(ref)
    if name not in USER_MODELS:
        model = build_user_model(ref)
        USER_MODELS.add(name, ModelSpec(name, lambda: build_user_model(ref), tuple(ref.input), model.num_classes,
                                        f"{ref.label} (a user model, traced with torch.fx)"))
    return name
