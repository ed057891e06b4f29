"""Motion clips as SMPL-22 joint positions: loaders for mocap30-style folders, HumanML3D and BVH.

Every loader returns :class:`Clip` objects whose ``joints`` are float32 ``(T, 22, 3)`` arrays in
metres, y up, SMPL-22 order (API.md), at the clip's ``fps``.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

import numpy as np

from .._arrays import check_positive
from ..resampling import resample
from .bvh import bvh_to_smpl22

__all__ = ["Clip", "resample", "load_clip_folder", "load_humanml3d", "load_motion_folder"]

PathLike = Union[str, os.PathLike]


@dataclass
class Clip:
    """One motion clip.

    Attributes:
        name: clip identifier (e.g. "01_01", a HumanML3D id, a BVH file stem).
        joints: float32 ``(T, 22, 3)`` SMPL-22 joint positions, metres, y up.
        fps: frames per second of ``joints``.
        subject: performer id, if known.
        split: "train" / "val" / "test" / ..., if known.
        skeleton: where the body proportions come from ("own", "avatar", "humanml3d", a BVH
            mapping name, ...), if known.
        meta: everything else the source records (index.json entry, conversion info).
    """

    name: str
    joints: np.ndarray
    fps: float = 30.0
    subject: str | None = None
    split: str | None = None
    skeleton: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.joints.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds, ``T / fps``."""
        return self.num_frames / self.fps


def _load_joints(path: Path) -> np.ndarray:
    """Read a ``(T, 22, 3)`` float .npy (T >= 1, finite) as float32; ValueError naming the file."""
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read as a .npy array ({exc})") from None
    if arr.ndim != 3 or arr.shape[1:] != (22, 3) or arr.shape[0] < 1:
        raise ValueError(f"{path}: expected joints of shape (T, 22, 3) with T >= 1, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{path}: {int((~np.isfinite(arr)).sum())} non-finite value(s)")
    return arr


def _folder(root: PathLike) -> Path:
    path = Path(root)
    if not path.is_dir():
        raise ValueError(f"root: {str(path)!r} is not a folder")
    return path


def _split_set(split: Union[str, Iterable[str], None]) -> set[str] | None:
    if split is None:
        return None
    return {split} if isinstance(split, str) else set(split)


def load_clip_folder(root: PathLike, split: Union[str, Iterable[str], None] = None, *, fps: float = 30.0) -> list[Clip]:
    """Load a mocap30-style folder: ``index.json`` + ``clips/*.npy``, or a bare folder of .npy.

    With ``index.json`` (keys ``clips[]`` with ``file``, ``name``, ``subject``, ``split``,
    ``skeleton``, ``fps`` ...; see ``shared/data/mocap30/README.md``) the clips are returned in
    index order, each entry's remaining keys in ``meta``. Without it, every ``*.npy`` in
    ``root`` (sorted by name) is a clip at ``fps`` with no split.

    Args:
        root: the folder.
        split: None (all), a split name ("train", "val", ...) or several.
        fps: frame rate of bare .npy files (index.json entries carry their own).

    Raises:
        ValueError: not a folder, a bad index, a split that no clip has (or any split without an
            index), or a clip file that is unreadable or not ``(T, 22, 3)`` finite (naming it).
    """
    path = _folder(root)
    wanted = _split_set(split)
    index_path = path / "index.json"
    if not index_path.is_file():
        if wanted is not None:
            raise ValueError(f"split: {str(path)!r} has no index.json, so no split information; use split=None")
        files = sorted(path.glob("*.npy"))
        if not files:
            raise ValueError(f"root: {str(path)!r} has neither index.json nor .npy files")
        fps = check_positive(fps, "fps")
        return [Clip(f.stem, _load_joints(f), fps=fps, meta={"file": str(f)}) for f in files]

    try:
        index = json.loads(index_path.read_text())
        entries = index["clips"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{index_path}: not a valid clip index ({exc!r})") from None
    if wanted is not None and not wanted & {e.get("split") for e in entries}:
        found = sorted({str(e.get("split")) for e in entries})
        raise ValueError(f"split: no clip in {index_path} has split {sorted(wanted)}; found {found}")
    clips = []
    for e in entries:
        if wanted is not None and e.get("split") not in wanted:
            continue
        if "file" not in e:
            raise ValueError(f"{index_path}: clip entry without 'file': {e!r}")
        f = path / e["file"]
        meta = {k: v for k, v in e.items() if k not in ("name", "fps", "subject", "split", "skeleton")}
        clips.append(
            Clip(
                name=str(e.get("name", Path(e["file"]).stem)),
                joints=_load_joints(f),
                fps=float(e.get("fps", index.get("fps", fps))),
                subject=e.get("subject"),
                split=e.get("split"),
                skeleton=e.get("skeleton"),
                meta=meta,
            )
        )
    return clips


def _read_ids(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def load_humanml3d(
    root: PathLike, split: str | None = None, fps_in: float = 20.0, fps_out: float = 30.0
) -> list[Clip]:
    """Load HumanML3D ``new_joints`` clips (``(T, 22, 3)`` .npy, metres, y up) resampled to ``fps_out``.

    Args:
        root: the HumanML3D folder holding ``new_joints/`` (and ``train.txt`` / ``val.txt`` /
            ``test.txt``), or the ``new_joints`` folder itself (split files then in its parent).
        split: None (every .npy, sorted by name) or a split name whose ``<split>.txt`` lists
            clip ids one per line; listed ids without a file are skipped with a warning.
        fps_in: frame rate of the files (HumanML3D: 20).
        fps_out: frame rate of the returned clips (linear interpolation, see :func:`resample`).

    Raises:
        ValueError: not a folder, no .npy files, a missing split file, or a bad clip file.
    """
    path = _folder(root)
    joints_dir = path / "new_joints" if (path / "new_joints").is_dir() else path
    fps_in = check_positive(fps_in, "fps_in")
    fps_out = check_positive(fps_out, "fps_out")
    if split is None:
        files = sorted(joints_dir.glob("*.npy"))
        if not files:
            raise ValueError(f"root: no .npy files in {str(joints_dir)!r}")
    else:
        candidates = [path / f"{split}.txt", joints_dir.parent / f"{split}.txt"]
        split_file = next((c for c in candidates if c.is_file()), None)
        if split_file is None:
            raise ValueError(f"split: no {split}.txt next to {str(joints_dir)!r}")
        ids = _read_ids(split_file)
        files = [joints_dir / f"{i}.npy" for i in ids]
        absent = [f for f in files if not f.is_file()]
        if absent:
            warnings.warn(f"load_humanml3d: {len(absent)} id(s) of {split_file} have no file in {joints_dir}", stacklevel=2)
            files = [f for f in files if f.is_file()]
    return [
        Clip(
            name=f.stem,
            joints=resample(_load_joints(f), fps_in, fps_out).astype(np.float32),
            fps=fps_out,
            split=split,
            skeleton="humanml3d",
            meta={"source": "humanml3d", "file": str(f), "fps_in": fps_in},
        )
        for f in files
    ]


def _load_bvh_folder(path: Path, fps_out: float) -> list[Clip]:
    clips = []
    for f in sorted(path.glob("*.bvh")):
        joints, info = bvh_to_smpl22(f, fps_out=fps_out, return_info=True)
        clips.append(Clip(f.stem, joints, fps=fps_out, skeleton=info["mapping"], meta={"file": str(f), **info}))
    return clips


def load_motion_folder(root: PathLike, split: Union[str, Iterable[str], None] = None, *, fps: float = 30.0) -> list[Clip]:
    """Load any supported motion folder, chosen by its contents.

    - ``index.json``: :func:`load_clip_folder` (mocap30 layout);
    - a ``new_joints/`` subfolder: :func:`load_humanml3d` (resampled to ``fps``);
    - ``*.npy`` files: :func:`load_clip_folder` without index (clips at ``fps``);
    - ``*.bvh`` files: each converted by :func:`mocap_fast.data.bvh.bvh_to_smpl22` (mapping
      auto-detected, resampled to ``fps``, grounded), ``skeleton`` = the detected mapping.

    Raises:
        ValueError: not a folder, nothing loadable in it, ``split`` given for a folder without
            split information, or any error of the chosen loader.
    """
    path = _folder(root)
    fps = check_positive(fps, "fps")
    if (path / "index.json").is_file():
        return load_clip_folder(path, split)
    if (path / "new_joints").is_dir():
        if split is not None and not isinstance(split, str):
            raise ValueError("split: HumanML3D folders take one split name")
        return load_humanml3d(path, split, fps_out=fps)
    if any(path.glob("*.npy")):
        return load_clip_folder(path, split, fps=fps)
    if any(path.glob("*.bvh")):
        if split is not None:
            raise ValueError(f"split: a folder of .bvh files ({str(path)!r}) has no split information; use split=None")
        return _load_bvh_folder(path, fps)
    raise ValueError(f"root: {str(path)!r} has no index.json, new_joints/, .npy or .bvh files")
