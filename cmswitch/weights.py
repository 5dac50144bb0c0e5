"""Weight storage: model parameters kept out of the IR.

A `cim.constant` without an inline `value` refers to its `sym` in a
:class:`WeightStore`. On disk the store is a NumPy ``.npz`` beside the
``.mlir`` file (``model.mlir`` -> ``model.weights.npz``); in memory it is a
mapping. A store may be incomplete: zoo models and ONNX files whose external
data is absent have no weights, which matters only for functional simulation.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cmswitch.fileio import staged


class WeightsError(ValueError):
    """A weights file cannot be read (user-facing message naming it)."""


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""The timestamp of every member: the same store gives the same bytes."""


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
        """The store as ``.npz`` at `path`, written atomically."""
        with staged(path) as (temp,), temp.open("wb") as out:
            self.dump(out)

    def dump(self, out: BinaryIO) -> None:
        """The ``.npz`` bytes (what ``np.savez`` writes, any key allowed,
        fixed member timestamps) to an open binary file."""
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, array in self._arrays.items():
                info = zipfile.ZipInfo(key + ".npy", date_time=_ZIP_TIME)
                with zf.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)

    @classmethod
    def load(cls, path: str | Path) -> WeightStore:
        """Reads a ``.npz``; a file that is not one raises WeightsError."""
        try:
            data = np.load(Path(path), allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("a single array (.npy), not an .npz archive")
            with data:
                return cls({k: data[k] for k in data.files})
        except OSError as err:
            raise WeightsError(f"{path}: cannot read weights: {err.strerror or err}") from None
        except (ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise WeightsError(f"{path}: not a valid weights file (.npz): {first}") from None

    @staticmethod
    def path_for(mlir_path: str | Path) -> Path:
        """Where the weights of ``X.mlir`` live: ``X.weights.npz``."""
        p = Path(mlir_path)
        return p.with_name(p.name.removesuffix(".mlir") + ".weights.npz")
