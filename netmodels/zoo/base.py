"""A network as an ordered chain of named units: the places it can be cut.

Split point ``k`` runs units ``0..k`` on the device (the head) and the rest on the server (the
tail); ``k = -1`` sends the input, ``k = len(units) - 1`` sends the result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from netmodels.modules import eval_mode, module_device
from splitbase import ModelError

INPUT_NAME = "input"


class UnitModel(nn.Module):
    """A model whose forward pass is its units applied in order, each unit one tensor in, one out.

    The unit names are hand-given by the zoo; the profiler checks them against a trace (every
    unit runs once, in order, and the only tensor crossing a cut is the previous unit's output).
    """

    def __init__(
        self,
        units: Sequence[tuple[str, nn.Module]],
        *,
        input_shape: tuple[int, int, int],
        num_classes: int,
    ) -> None:
        super().__init__()
        names = [name for name, _ in units]
        if len(set(names)) != len(names) or INPUT_NAME in names:
            raise ModelError(f"unit names must be unique and not {INPUT_NAME!r}: {names}")
        self.units = nn.Sequential(*(module for _, module in units))
        self.unit_names: tuple[str, ...] = tuple(names)
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x)

    @property
    def last_split(self) -> int:
        return len(self.unit_names) - 1

    def split_index(self, split: int | str) -> int:
        """Split point as an index in -1..last, from an index or a unit name ('input' is -1)."""
        if isinstance(split, str):
            if split == INPUT_NAME:
                return -1
            if split not in self.unit_names:
                raise ModelError(
                    f"split point {split!r} is not a unit of this model "
                    f"(units: {', '.join(self.unit_names)})"
                )
            return self.unit_names.index(split)
        if not -1 <= split <= self.last_split:
            raise ModelError(f"split point {split} is outside -1..{self.last_split}")
        return split

    def split_name(self, k: int) -> str:
        return INPUT_NAME if k == -1 else self.unit_names[self.split_index(k)]

    def head(self, split: int | str) -> nn.Sequential:
        """Units 0..k (an empty Sequential for k = -1): what runs on the device."""
        return self.units[: self.split_index(split) + 1]

    def tail(self, split: int | str) -> nn.Sequential:
        """Units k+1..last: what runs on the server."""
        return self.units[self.split_index(split) + 1 :]


@dataclass(frozen=True)
class ModelSpec:
    """A zoo entry: how to build the model and the input/classes it was published with."""

    name: str
    build: Callable[..., UnitModel]
    input_shape: tuple[int, int, int]
    num_classes: int
    description: str


def conv_bn_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    padding: int | None = None,
    groups: int = 1,
    activation: type[nn.Module] | None = nn.ReLU,
    batch_norm: bool = True,
) -> nn.Sequential:
    """conv (+ BN) (+ activation): the body of most chain units."""
    padding = kernel_size // 2 if padding is None else padding
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                  groups=groups, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if activation is not None:
        layers.append(activation(inplace=True))
    return nn.Sequential(*layers)


def fully_connected(in_features: int, out_features: int, *, flatten: bool = False,
                    dropout: float = 0.0, relu: bool = True) -> nn.Sequential:
    """(flatten) linear (+ ReLU) (+ dropout): a classifier unit."""
    layers: list[nn.Module] = [nn.Flatten()] if flatten else []
    layers.append(nn.Linear(in_features, out_features))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def global_pool() -> nn.Sequential:
    """Global average pooling to a flat vector, the unit before a final fc."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


def unit_shapes(model: UnitModel) -> list[tuple[int, ...]]:
    """Shapes (no batch dim) of the input and of every unit's output: len(units) + 1 entries."""
    x = torch.zeros(1, *model.input_shape, device=module_device(model))
    shapes = [tuple(x.shape[1:])]
    with eval_mode(model), torch.no_grad():
        for unit in model.units:
            x = unit(x)
            shapes.append(tuple(x.shape[1:]))
    return shapes
