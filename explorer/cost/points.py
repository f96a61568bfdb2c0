"""Design points: flat arrays of split point, sparsity and codec, the grid a sweep prices."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.cost.codecs import CodecChoice


@dataclass(frozen=True)
class DesignPoints:
    """Flat arrays of equal length N: split index (-1..last), sparsity, index into `codecs`."""

    split: np.ndarray
    sparsity: np.ndarray
    codec: np.ndarray
    codecs: tuple[CodecChoice, ...]

    def __len__(self) -> int:
        return len(self.split)

    @classmethod
    def product(cls, *, splits, sparsities, codecs: tuple[CodecChoice, ...]) -> "DesignPoints":
        """Every combination of split, sparsity and codec (the Cartesian grid)."""
        split, sparsity, codec = np.meshgrid(np.asarray(splits, dtype=np.int64),
                                             np.asarray(sparsities, dtype=float),
                                             np.arange(len(codecs)), indexing="ij")
        return cls(split.ravel(), sparsity.ravel(), codec.ravel(), tuple(codecs))

    def concat(self, other: "DesignPoints") -> "DesignPoints":
        offset = len(self.codecs)
        return DesignPoints(np.concatenate([self.split, other.split]),
                            np.concatenate([self.sparsity, other.sparsity]),
                            np.concatenate([self.codec, other.codec + offset]),
                            self.codecs + other.codecs)

    def subset(self, index: slice | np.ndarray) -> "DesignPoints":
        return DesignPoints(self.split[index], self.sparsity[index], self.codec[index], self.codecs)
