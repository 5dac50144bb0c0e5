"""Weight storage: model parameters kept out of the IR.

A `cim.constant` without an inline `value` refers to its `sym` in a
:class:`WeightStore`. On disk the store is a NumPy ``.npz`` beside the
``.mlir`` file (``model.mlir`` -> ``model.weights.npz``); in memory it is a
mapping. A store may be incomplete: zoo models and ONNX files whose external
data is absent have no weights, which matters only for functional simulation.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path

import numpy as np


class WeightStore(MutableMapping[str, np.ndarray]):
    """Named weight arrays."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None):
        self._arrays: dict[str, np.ndarray] = dict(arrays or {})

    def __getitem__(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self._arrays[key] = np.asarray(value)

    def __delitem__(self, key: str) -> None:
        del self._arrays[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())

    def save(self, path: str | Path) -> None:
        np.savez(Path(path), **self._arrays)  # pyright: ignore[reportArgumentType]

    @classmethod
    def load(cls, path: str | Path) -> WeightStore:
        with np.load(Path(path), allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    @staticmethod
    def path_for(mlir_path: str | Path) -> Path:
        """Where the weights of ``X.mlir`` live: ``X.weights.npz``."""
        p = Path(mlir_path)
        return p.with_name(p.name.removesuffix(".mlir") + ".weights.npz")
