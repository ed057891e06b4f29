"""The two sampling loops of DESIGN §1/§6, same maths:

- :func:`sample_reference`: the authors' per-step loop in plain PyTorch (pointmap features
  recomputed every step, consistency step with Python loops over clip and view), skipping only
  the exact-identity unconditional pass of guidance scale 1.
- :func:`sample_fast`: pointmap tokens and cross-attention keys/values computed once; the
  consistency step, the posterior step and the view attention are the ops of
  :data:`mocap_fast.backends.OPS`, called directly (no public-API checks, no host
  synchronisation per step).

Both draw the same world-consistent noise in the same order, each window (row) from its own
generator (:func:`generators`), so with the same seeds and weights they agree to float rounding, and a
row's result does not depend on the other rows of its batch.

``steps=None`` runs the full DDPM ancestral schedule; ``steps < S`` runs DDIM (eta 0) on evenly
spaced steps, which x0 prediction makes direct.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .backends import kernel
from .model.io import LoadedModel
from .model.network import Conditions
from .reference.consistency import consistency_step
from .reference.diffusion import (
    Schedule, cosine_schedule, ddim_step, posterior_coefficients, world_noise, world_noise_samples,
)


@dataclass
class Problem:
    """Everything constant over the denoising steps, for N windows (V views, T frames, J joints).

    Attributes:
        K_g: ``[N, V, 3, 3]`` normalised intrinsics; T_w2c: ``[N, V, 4, 4]``.
        g_obs: ``[N, T, J, 2]`` observed view, canvas-normalised, missing joints filled.
        conf: ``[N, T, J]`` observation confidence (0 = missing).
        observed: ``[N, T, C]`` standardised observed frame vectors.
        pointmaps: ``[N, V, R, R, 3]`` or ``None``.
        view0_weight: weight multiplier of observed view-0 joints in the triangulation.
        prior_conf: triangulation confidence of view-0 joints the input misses (their filled
            placeholders, see :func:`~mocap_fast.observation.fill_missing`); 0 = use the network's
            own view-0 prediction instead. The network is still told they are missing.
    """

    K_g: torch.Tensor
    T_w2c: torch.Tensor
    g_obs: torch.Tensor
    conf: torch.Tensor
    observed: torch.Tensor
    pointmaps: torch.Tensor | None
    view0_weight: float = 1.0
    prior_conf: float = 0.0

    def conditions(self) -> Conditions:
        return Conditions(self.K_g, self.T_w2c, self.observed, self.conf, None, self.pointmaps)

    @property
    def tri_conf(self) -> torch.Tensor:
        """``[N, T, J]`` view-0 confidence in the triangulation (``conf``, placeholders at ``prior_conf``)."""
        if self.prior_conf <= 0:
            return self.conf
        return torch.where(self.conf > 0, self.conf, torch.full_like(self.conf, self.prior_conf))


def step_plan(num_train_steps: int, steps: int | None) -> list[int]:
    """Descending step indices to visit: all of them, or ``steps`` evenly spaced ones ending at 0."""
    if steps is None or steps >= num_train_steps:
        return list(range(num_train_steps - 1, -1, -1))
    if steps < 1:
        raise ValueError(f"steps: must be >= 1, got {steps}")
    idx = torch.linspace(num_train_steps - 1, 0, steps).round().long().tolist()
    return sorted(set(idx), reverse=True)


def generators(seed, n: int, device) -> list[torch.Generator]:
    """One generator per row: seeds ``seed[k]`` (a sequence of ``n`` ints) or ``seed + k`` (an int)."""
    seeds = [(seed + k) % 2**63 for k in range(n)] if isinstance(seed, int) else [int(s) for s in seed]
    if len(seeds) != n:
        raise ValueError(f"seed: expected an int or {n} seeds (one per row), got {len(seeds)}")
    return [torch.Generator(device).manual_seed(s) for s in seeds]


def _per_row(gen: list[torch.Generator], draw) -> torch.Tensor:
    """``draw(k, gen[k])`` for every row k (``[1, ...]`` each), concatenated: each row's noise comes
    from its own generator only."""
    return torch.cat([draw(k, g) for k, g in enumerate(gen)])


def _advance(
    x: torch.Tensor, x0: torch.Tensor, plan: list[int], i: int, R: torch.Tensor, gen, sched: Schedule, backend: str
) -> torch.Tensor:
    """Next sample: the DDPM posterior step with world-consistent noise on the full schedule (the
    ``"posterior_step"`` op of ``backend``; same numbers from the same generator), else DDIM."""
    s = plan[i]
    full = len(plan) == sched.num_steps
    if full:
        if s == 0:
            return x0
        shape = (x.shape[0], x.shape[2], x.shape[3])
        n = _per_row(gen, lambda k, g: world_noise_samples((1, *shape[1:]), g, R.dtype, R.device))
        return kernel("posterior_step", backend, x.device)(x, x0, n, R, *posterior_coefficients(sched, s))
    prev = plan[i + 1] if i + 1 < len(plan) else -1
    return ddim_step(x, x0, s, prev, None, sched)


def _initial(problem: Problem, model: LoadedModel, gen: list[torch.Generator]) -> torch.Tensor:
    T, C = problem.observed.shape[1], model.cfg.channels
    R = problem.T_w2c[..., :3, :3]
    return _per_row(gen, lambda k, g: world_noise(R[k:k + 1], (1, T, C), g)).float()


@torch.no_grad()
def sample_reference(
    model: LoadedModel, problem: Problem, steps: int | None = None, seed=0, progress=None
) -> torch.Tensor:
    """The authors' loop. Returns ``[N, T, J, 3]`` world joints of the last step's triangulation.
    ``seed``: an int (row k uses ``seed + k``) or N ints, one per row (see :func:`generators`).
    ``progress()``, when given, is called after each step."""
    net, stats = model.net.eval(), model.stats
    sched = cosine_schedule(model.cfg.diffusion_steps)
    plan = step_plan(sched.num_steps, steps)
    gen = generators(seed, problem.K_g.shape[0], problem.K_g.device)
    R = problem.T_w2c[..., :3, :3]
    cond = problem.conditions()
    x = _initial(problem, model, gen)
    X = None
    for i, s in enumerate(plan):
        t = torch.full((x.shape[0],), s, dtype=torch.long, device=x.device)
        x0 = net(x, t, cond, backend="reference")
        x0c, X = consistency_step(
            x0, problem.g_obs, problem.tri_conf, problem.K_g, problem.T_w2c, stats, problem.view0_weight
        )
        x = _advance(x, x0c.float(), plan, i, R, gen, sched, "reference")
        if progress is not None:
            progress()
    return X


@torch.no_grad()
def sample_fast(
    model: LoadedModel, problem: Problem, steps: int | None = None, seed=0, backend: str = "auto",
    progress=None,
) -> torch.Tensor:
    """The fast loop (see the module docstring). Returns ``[N, T, J, 3]`` world joints; ``seed`` as
    in :func:`sample_reference`. ``progress()``, when given, is called after each step."""
    net = model.net.eval()
    sched = cosine_schedule(model.cfg.diffusion_steps)
    plan = step_plan(sched.num_steps, steps)
    gen = generators(seed, problem.K_g.shape[0], problem.K_g.device)
    R = problem.T_w2c[..., :3, :3]
    cond = problem.conditions()
    cache = None
    if net.pointmap is not None:
        cache = net.cross_cache(net.encode_pointmaps(problem.pointmaps), backend=backend)
    consistency = kernel("consistency", backend, problem.K_g.device)
    tri_conf = problem.tri_conf
    x = _initial(problem, model, gen)
    X = None
    for i, s in enumerate(plan):
        t = torch.full((x.shape[0],), s, dtype=torch.long, device=x.device)
        x0 = net(x, t, cond, cache=cache, backend=backend)
        x0c, X = consistency(x0, problem.g_obs, tri_conf, problem.K_g, problem.T_w2c, model.stats, problem.view0_weight)
        x = _advance(x, x0c.float(), plan, i, R, gen, sched, backend)
        if progress is not None:
            progress()
    return X
