"""Atomic file writes: write a temporary file beside the target, then rename it over the target."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

PathLike = Union[str, os.PathLike]


def atomic_write(path: PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Call ``write(handle)`` on a temporary file in ``path``'s folder, then ``os.replace`` it to ``path``.

    A reader never sees a half-written file; on any error the temporary file is removed and the
    previous ``path`` (if any) is left untouched. Returns ``Path(path)``.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
        with os.fdopen(fd, mode, **kwargs) as fh:
            write(fh)
        os.chmod(tmp, _file_mode(p))  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p


def _file_mode(p: Path) -> int:
    """The existing file's permission bits, else ``0o666`` minus the process umask."""
    try:
        return p.stat().st_mode & 0o7777
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes(path: PathLike, data: bytes) -> Path:
    """Atomically write ``data`` to ``path``."""
    return atomic_write(path, lambda fh: fh.write(data))


def write_text(path: PathLike, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    return atomic_write(path, lambda fh: fh.write(text), mode="w")


def write_json(path: PathLike, data: Any, indent: int | None = 1) -> Path:
    """Atomically write ``data`` as JSON (numpy arrays and scalars become lists / numbers)."""
    return write_text(path, json.dumps(data, indent=indent, default=_json_default) + "\n")


def write_npz(path: PathLike, **arrays: Any) -> Path:
    """Atomically write a compressed ``.npz`` holding ``arrays``."""
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "tolist"):  # torch tensors
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")
