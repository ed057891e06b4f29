"""The two sampling loops of DESIGN §1/§6, same maths:

- :func:`sample_reference`: the authors' per-step loop in plain PyTorch (pointmap features
  recomputed every step, consistency step with Python loops over clip and view), skipping only
  the exact-identity unconditional pass of guidance scale 1.
- :func:`sample_fast`: pointmap tokens and cross-attention keys/values computed once; the
  consistency step, the posterior step and the view attention are the ops of
  :data:`mocap_fast.backends.OPS`, called directly (no public-API checks, no host
  synchronisation per step).

Both draw the same world-consistent noise from the same generator in the same order, so with the
same seed and weights they agree to float rounding.

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
        n = world_noise_samples(shape, gen, R.dtype, R.device)
        return kernel("posterior_step", backend, x.device)(x, x0, n, R, *posterior_coefficients(sched, s))
    prev = plan[i + 1] if i + 1 < len(plan) else -1
    return ddim_step(x, x0, s, prev, None, sched)


def _initial(problem: Problem, model: LoadedModel, gen: torch.Generator) -> torch.Tensor:
    N, V = problem.K_g.shape[:2]
    T, C = problem.observed.shape[1], model.cfg.channels
    return world_noise(problem.T_w2c[..., :3, :3], (N, T, C), gen).float()


@torch.no_grad()
def sample_reference(model: LoadedModel, problem: Problem, steps: int | None = None, seed: int = 0) -> torch.Tensor:
    """The authors' loop. Returns ``[N, T, J, 3]`` world joints of the last step's triangulation."""
    net, stats = model.net.eval(), model.stats
    sched = cosine_schedule(model.cfg.diffusion_steps)
    plan = step_plan(sched.num_steps, steps)
    gen = torch.Generator(problem.K_g.device).manual_seed(seed)
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
    return X


@torch.no_grad()
def sample_fast(
    model: LoadedModel, problem: Problem, steps: int | None = None, seed: int = 0, backend: str = "auto"
) -> torch.Tensor:
    """The fast loop (see the module docstring). Returns ``[N, T, J, 3]`` world joints."""
    net = model.net.eval()
    sched = cosine_schedule(model.cfg.diffusion_steps)
    plan = step_plan(sched.num_steps, steps)
    gen = torch.Generator(problem.K_g.device).manual_seed(seed)
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
    return X
