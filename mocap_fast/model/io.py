"""Model files: safetensors only (weights, standardisation statistics, config in the metadata).

A model file holds the network's ``state_dict``, ``stats.mean`` / ``stats.std`` (``[C]``), and
metadata ``format`` (``mocap_fast-1``), ``config`` (JSON of :class:`ModelConfig`), ``multiview``
(``"1"``/``"0"``), ``info`` (free JSON: training steps, data, metrics) and, optionally, the
recommended sampler ``sampler`` (``"ddim"`` or ``"ddpm"``) with ``steps`` (decimal string), which
``lift(steps=None)`` uses (:func:`set_recommended_sampler` writes it; absent = the full DDPM schedule),
and ``samples`` (decimal string), the number of draws per window that ``lift(samples=None)`` averages
(absent = 1).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..reference.representation import Standardizer
from .config import ModelConfig
from .network import MotionDenoiser

FORMAT = "mocap_fast-1"
DEFAULT_MODEL = "default_small.safetensors"


@dataclass
class LoadedModel:
    """A denoiser with the statistics it was trained with."""

    net: MotionDenoiser
    stats: Standardizer
    info: dict = field(default_factory=dict)
    sampler: tuple[str, int] | None = None
    """The recommended ``(sampler, steps)`` from the file's metadata, or ``None`` (full DDPM)."""
    samples: int = 1
    """The recommended number of draws per window that ``lift(samples=None)`` averages."""

    @property
    def cfg(self) -> ModelConfig:
        return self.net.cfg

    def recommended_steps(self) -> tuple[str, int]:
        """``(sampler, steps)`` that ``lift(steps=None)`` runs: the file's recommendation, else the
        full DDPM schedule (``("ddpm", diffusion_steps)``)."""
        if self.sampler is None or self.sampler[0] == "ddpm":
            return "ddpm", self.cfg.diffusion_steps
        return self.sampler


def atomic_save(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str]) -> None:
    """Write a safetensors file through a temporary file and a rename (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp, metadata=metadata)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_model(model: LoadedModel, path: str | Path) -> None:
    """Save ``model`` to ``path`` (safetensors)."""
    tensors = dict(model.net.state_dict())
    tensors["stats.mean"] = model.stats.mean
    tensors["stats.std"] = model.stats.std
    meta = {
        "format": FORMAT,
        "config": json.dumps(model.cfg.to_dict()),
        "multiview": "1" if model.net.multiview else "0",
        "info": json.dumps(model.info),
    }
    if model.sampler is not None:
        meta.update(sampler=model.sampler[0], steps=str(model.sampler[1]))
    if model.samples != 1:
        meta["samples"] = str(model.samples)
    atomic_save(tensors, path, meta)


SAMPLERS = ("ddim", "ddpm")


def parse_sampler(meta: dict[str, str], path) -> tuple[str, int] | None:
    """The recommended ``(sampler, steps)`` in a model file's metadata (``None`` when absent);
    ``ValueError`` naming ``path`` for an unknown sampler or a step count that is not a positive integer."""
    if "sampler" not in meta:
        return None
    sampler, steps = meta["sampler"], meta.get("steps", "")
    if sampler not in SAMPLERS or not steps.isdigit() or int(steps) < 1:
        raise ValueError(f"model: {path} has a broken recommended sampler: sampler={sampler!r}, steps={steps!r} "
                         f"(expected one of {list(SAMPLERS)} and a positive integer)")
    return sampler, int(steps)


def parse_samples(meta: dict[str, str], path) -> int:
    """The recommended draws per window in a model file's metadata (1 when absent); ``ValueError``
    naming ``path`` unless a positive integer."""
    samples = meta.get("samples", "1")
    if not samples.isdigit() or int(samples) < 1:
        raise ValueError(f"model: {path} has a broken recommended samples={samples!r} (expected a positive integer)")
    return int(samples)


def set_recommended_sampler(path: str | Path, sampler: str, steps: int, samples: int = 1) -> None:
    """Store the recommended sampler of the model file ``path`` in its metadata (``sampler``,
    ``steps``, ``samples`` draws averaged per window); weights and every other metadata entry are
    kept. ``ddpm`` means the full schedule.

    Raises:
        ValueError: unknown ``sampler``, ``steps`` or ``samples`` not a positive integer, or not a model file.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler: expected one of {list(SAMPLERS)}, got {sampler!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples: expected a positive integer, got {samples!r}")
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"model: {path} is not a mocap_fast model file (format {meta.get('format')!r})")
    cfg = ModelConfig.from_dict(json.loads(meta["config"]))
    if sampler == "ddpm" and steps != cfg.diffusion_steps:
        raise ValueError(f"steps: ddpm runs the full schedule of {cfg.diffusion_steps} steps, got {steps}")
    if sampler == "ddim" and steps >= cfg.diffusion_steps:
        raise ValueError(f"steps: ddim needs fewer than the schedule's {cfg.diffusion_steps} steps, got {steps}")
    set_metadata(path, sampler=sampler, steps=str(steps), samples=str(samples))


def set_metadata(path: str | Path, **entries: str) -> None:
    """Add or replace string metadata ``entries`` of the model file ``path`` (e.g. ``licence``);
    weights and every other entry are kept."""
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"model: {path} is not a mocap_fast model file (format {meta.get('format')!r})")
    meta.update({k: str(v) for k, v in entries.items()})
    mode = os.stat(path).st_mode & 0o777
    atomic_save(load_file(str(path)), path, meta)
    os.chmod(path, mode)  # mkstemp's 0600 would make the packaged file unreadable to others


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a safetensors file; ``ValueError`` naming ``path`` if unreadable."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"model: cannot read {path}: {exc}") from None


def load_model(path: str | Path | None = None, device: torch.device | str = "cpu") -> LoadedModel:
    """Load a model file (the packaged default when ``path`` is ``None``).

    Raises:
        ValueError: missing, truncated or foreign file, or weights whose shapes do not match its config.
    """
    if path is None:
        path = resources.files("mocap_fast") / "assets" / DEFAULT_MODEL
    path = Path(str(path))
    if not path.is_file():
        raise ValueError(f"model: no such file {path}")
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or int.from_bytes(head, "little") + 8 > path.stat().st_size:
        raise ValueError(f"model: {path} is not a safetensors file, or is truncated ({path.stat().st_size} bytes)")
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"model: {path} is not a mocap_fast model file (format {meta.get('format')!r})")
    try:
        cfg = ModelConfig.from_dict(json.loads(meta["config"]))
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"model: {path} has a broken config ({exc})") from None
    _check_config(cfg, path)
    if not isinstance(info, dict):
        info = {"info": info}
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ValueError(f"model: cannot read {path} (truncated or corrupted?): {exc}") from None
    try:
        mean, std = tensors.pop("stats.mean"), tensors.pop("stats.std")
    except KeyError:
        raise ValueError(f"model: {path} lacks the standardisation statistics") from None
    for name, t in (("stats.mean", mean), ("stats.std", std)):
        if t.shape != (cfg.channels,) or not t.is_floating_point():
            raise ValueError(
                f"model: {name} in {path} has shape {tuple(t.shape)} and dtype {t.dtype}, config needs float ({cfg.channels},)"
            )
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"model: {name} in {path} holds non-finite values (corrupted file?)")
    if not bool((std > 0).all()):
        raise ValueError(f"model: stats.std in {path} has values <= 0 (corrupted file?)")
    stats = Standardizer(mean, std)
    multiview = meta.get("multiview") == "1"
    try:
        with torch.device("meta"):  # shapes only: a lying config cannot allocate memory here
            want = MotionDenoiser(cfg, multiview=multiview).state_dict()
    except Exception as exc:  # noqa: BLE001 - any failure to build is a broken config
        raise ValueError(f"model: {path} has a broken config ({type(exc).__name__}: {exc})") from None
    for k, v in want.items():
        if k not in tensors:
            raise ValueError(f"model: {path} lacks weight {k!r}")
        if tensors[k].shape != v.shape:
            raise ValueError(f"model: weight {k!r} in {path} has shape {tuple(tensors[k].shape)}, config needs {tuple(v.shape)}")
        if v.is_floating_point() != tensors[k].is_floating_point():
            raise ValueError(f"model: weight {k!r} in {path} has dtype {tensors[k].dtype}, expected {v.dtype}")
        if tensors[k].is_floating_point() and not bool(torch.isfinite(tensors[k]).all()):
            raise ValueError(f"model: weight {k!r} in {path} holds non-finite values (corrupted file?)")
    extra = set(tensors) - set(want)
    if extra:
        raise ValueError(f"model: {path} has unexpected weights {sorted(extra)[:5]}")
    net = MotionDenoiser(cfg, multiview=multiview)
    net.load_state_dict(tensors)
    net.eval()
    return LoadedModel(net.to(device), stats.to(device), info, parse_sampler(meta, path), parse_samples(meta, path))


_CONFIG_LIMITS = {
    "num_joints": (22, 22), "num_views": (1, 16), "width": (1, 4096), "layers": (1, 64), "heads": (1, 64),
    "ffn": (1, 16384), "pointmap_res": (8, 1024), "pointmap_base": (1, 512), "window": (2, 4096),
    "diffusion_steps": (1, 10000),
}


def _check_config(cfg: ModelConfig, path) -> None:
    """``ValueError`` for a config no network should be built from (wrong types, absurd sizes)."""
    for name, (lo, hi) in _CONFIG_LIMITS.items():
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"model: {path} has a broken config: {name} = {v!r} (expected an integer in [{lo}, {hi}])")
    if cfg.width % cfg.heads:
        raise ValueError(f"model: {path} has a broken config: width {cfg.width} not divisible by heads {cfg.heads}")
    if isinstance(cfg.dropout, bool) or not isinstance(cfg.dropout, (int, float)) or not 0 <= cfg.dropout < 1:
        raise ValueError(f"model: {path} has a broken config: dropout = {cfg.dropout!r}")
    if not isinstance(cfg.use_pointmap, bool):
        raise ValueError(f"model: {path} has a broken config: use_pointmap = {cfg.use_pointmap!r}")
