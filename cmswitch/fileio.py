"""Output files written atomically.

Every file the compiler writes (IR, weights, reports, benchmark results) goes
through this module: the content is written to a temporary file in the
target's directory and renamed over the target only once it is complete, so a
crash, an interrupt or a bad input never leaves a half-written file behind,
and a reader never sees one. Several files that belong together (``X.mlir``
and ``X.weights.npz``) are staged together and renamed only when all of them
are complete::

    with staged(ir_path, weights_path) as (ir_tmp, weights_tmp):
        ir_tmp.write_text(text)
        store.save(weights_tmp)

A destination that cannot be written (no such directory, a directory, no
permission) raises :class:`OutputError`, whose message names the path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class OutputError(ValueError):
    """An output file cannot be written (user-facing message naming it)."""


def _file_mode(target: Path) -> int:
    """The permissions a plain ``open(target, "w")`` would give: the existing
    file's, or 0o666 minus the umask (``mkstemp`` makes 0o600 files)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise OutputError(f"{target}: cannot write: is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"{target}: cannot write: directory {parent} does not exist")


@contextlib.contextmanager
def staged(*targets: str | Path) -> Iterator[list[Path]]:
    """Temporary paths, one per target, renamed over the targets when the
    block exits normally; removed (targets untouched) when it raises."""
    paths = [Path(t) for t in targets]
    temps: list[Path] = []
    try:
        for target in paths:
            _check_target(target)
            try:
                fd, name = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
                )
            except OSError as err:
                raise OutputError(f"{target}: cannot write: {err.strerror}") from None
            os.close(fd)
            temps.append(Path(name))
        yield temps
        for temp, target in zip(temps, paths, strict=True):
            os.chmod(temp, _file_mode(target))
        for temp, target in zip(temps, paths, strict=True):
            try:
                os.replace(temp, target)
            except OSError as err:
                raise OutputError(f"{target}: cannot write: {err.strerror}") from None
    finally:
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def write_text(path: str | Path, text: str) -> None:
    """`text` (UTF-8) at `path`, atomically."""
    with staged(path) as (temp,):
        temp.write_text(text, encoding="utf-8")


def write_bytes(path: str | Path, data: bytes) -> None:
    """`data` at `path`, atomically."""
    with staged(path) as (temp,):
        temp.write_bytes(data)


__all__ = ["OutputError", "staged", "write_bytes", "write_text"]
