"""Two-stage training (DESIGN §4): stage 1 = single-view 2D denoiser, stage 2 = multi-view
denoiser initialised from stage 1. x0 prediction, MSE over all views, AdamW, gradient clipping,
conditions dropped with p = 0.1, world-consistent noise.

Checkpoints (``out/last.safetensors`` + ``out/state.json`` + ``out/optim.safetensors``) make a
run resumable: rerunning the same command continues where it stopped and gives the weights an
uninterrupted run would have given.

Distributed: under ``torchrun`` (an initialised ``torch.distributed`` process group) the network
is wrapped in DistributedDataParallel; every rank draws its own batches (seed + rank), gradients
are averaged, rank 0 writes the checkpoints and every rank's batch-sampler state goes into
``state.json`` so a resumed run continues each rank's stream. On CUDA the forward pass runs in
bfloat16 autocast (mixed precision); weights and optimiser stay float32.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file
from torch.nn.parallel import DistributedDataParallel

from ..model.config import ModelConfig
from ..model.io import LoadedModel, atomic_save, load_model, save_model
from ..model.network import Conditions, MotionDenoiser
from ..reference.diffusion import cosine_schedule, q_sample, world_noise
from ..reference.representation import Standardizer
from .sampling import Batch, make_batch

log = logging.getLogger("mocap_fast.train")


@dataclass
class TrainOptions:
    """Options of one training run (stage 1 or 2)."""

    stage: int = 2
    steps: int = 1000
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.01
    grad_clip: float = 0.5
    cond_drop: float = 0.1
    warmup: int = 100
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 50
    stats_batches: int = 20
    device: str = "auto"
    """``"auto"`` = this rank's CUDA device when available, else CPU."""


def compute_stats(clips: list[np.ndarray], cfg: ModelConfig, seed: int, batches: int) -> Standardizer:
    """Channel statistics of raw frame vectors of all views over ``batches`` random batches."""
    rng = np.random.default_rng(seed + 12345)
    ident = Standardizer.identity(cfg.channels)
    xs = [make_batch(clips, 16, cfg.replace(use_pointmap=False), ident, rng).x0 for _ in range(batches)]
    return Standardizer.fit(torch.cat([x.flatten(0, 2) for x in xs]))


def _device(opts: TrainOptions) -> torch.device:
    if opts.device != "auto":
        return torch.device(opts.device)
    if torch.cuda.is_available():
        local = int(dist.get_rank() % torch.cuda.device_count()) if dist.is_initialized() else 0
        return torch.device("cuda", local)
    return torch.device("cpu")


def _to(cond: Conditions, device: torch.device) -> Conditions:
    move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
    return Conditions(move(cond.K_g), move(cond.T_w2c), move(cond.observed), move(cond.observed_mask),
                      move(cond.frame_mask), move(cond.pointmaps))


def stage_batch(batch: Batch, stage: int, stats: Standardizer, rng: np.random.Generator) -> tuple[torch.Tensor, Conditions]:
    """Standardised targets ``[B, V', T, C]`` and conditions; stage 1 keeps one random view, unobserved."""
    x0 = stats.standardize(batch.x0)
    _, obs = _observed(batch, stats)
    cond = Conditions(batch.K_g, batch.T_w2c, obs, batch.conf, None, batch.pointmaps)
    if stage == 1:
        B, V = x0.shape[:2]
        v = torch.from_numpy(rng.integers(V, size=B))
        idx = torch.arange(B)
        x0 = x0[idx, v][:, None]
        cond = Conditions(
            batch.K_g[idx, v][:, None], batch.T_w2c[idx, v][:, None], torch.zeros_like(obs),
            torch.zeros_like(batch.conf), None, batch.pointmaps[idx, v][:, None],
        )
    return x0, cond


def _observed(batch: Batch, stats: Standardizer) -> tuple[torch.Tensor, torch.Tensor]:
    from ..reference.representation import encode

    return batch.g_obs, stats.standardize(encode(batch.g_obs))


class Trainer:
    """Runs stage ``opts.stage`` of training into ``out_dir``."""

    def __init__(self, cfg: ModelConfig, clips: list[np.ndarray], out_dir: str | Path, opts: TrainOptions,
                 init: str | Path | None = None, val_clips: list[np.ndarray] | None = None):
        self.cfg, self.clips, self.opts = cfg, clips, opts
        self.val_clips = val_clips
        self.out = Path(out_dir)
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.world = dist.get_world_size() if dist.is_initialized() else 1
        self.device = _device(opts)
        if self.rank == 0:
            self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(opts.seed)
        multiview = opts.stage == 2
        if init is not None:
            start = load_model(init)
            if start.cfg.replace(num_views=cfg.num_views) != cfg.replace(num_views=cfg.num_views):
                raise ValueError(f"init: model config {start.cfg} differs from {cfg}")
            self.stats = start.stats
            self.net = MotionDenoiser(cfg, multiview=multiview)
            if multiview and not start.net.multiview:
                self.net.load_2d_weights(start.net.state_dict())
            else:
                self.net.load_state_dict(start.net.state_dict())
        else:
            self.stats = compute_stats(clips, cfg, opts.seed, opts.stats_batches)
            self.net = MotionDenoiser(cfg, multiview=multiview)
        self.net.to(self.device)
        self.sched = cosine_schedule(cfg.diffusion_steps)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
        self.step = 0
        self.rng = np.random.default_rng(opts.seed + self.rank)
        self.history: list[dict] = []
        self._resume()
        # identical starting weights on every rank (DDP also broadcasts them; stats are seeded alike)
        self.ddp = DistributedDataParallel(self.net) if self.world > 1 else None

    def lr_at(self, step: int) -> float:
        """Linear warm-up then cosine decay to 10 % of ``lr``."""
        o = self.opts
        if step < o.warmup:
            return o.lr * (step + 1) / o.warmup
        frac = (step - o.warmup) / max(1, o.steps - o.warmup)
        return o.lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(frac, 1.0))))

    def loss_on(self, x0: torch.Tensor, cond: Conditions, gen: torch.Generator,
                frame_valid: torch.Tensor | None = None) -> torch.Tensor:
        """x0-prediction MSE at random steps with world-consistent noise, over ``frame_valid [B, T]`` frames."""
        B, V, T, C = x0.shape
        step = torch.randint(0, self.sched.num_steps, (B,), generator=gen)
        noise = world_noise(cond.T_w2c[..., :3, :3].cpu(), (B, T, C), gen).float()
        x_t = q_sample(x0.cpu(), step, noise, self.sched).to(self.device)
        net = self.ddp if (self.ddp is not None and self.net.training) else self.net
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            pred = net(x_t, step.to(self.device), _to(cond, self.device))
        err = ((pred.float() - x0.to(self.device)) ** 2).mean(-1)  # [B, V, T]
        if frame_valid is None:
            return err.mean()
        w = frame_valid.to(self.device, err.dtype)[:, None, :].expand_as(err)
        return (err * w).sum() / w.sum().clamp_min(1.0)

    def train_step(self) -> float:
        batch = make_batch(self.clips, self.opts.batch_size, self.cfg, self.stats, self.rng)
        x0, cond = stage_batch(batch, self.opts.stage, self.stats, self.rng)
        drop = torch.from_numpy(self.rng.random(x0.shape[0]) < self.opts.cond_drop)
        cond.observed_mask = torch.where(drop[:, None, None], torch.zeros_like(cond.observed_mask), cond.observed_mask)
        gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
        for g in self.opt.param_groups:
            g["lr"] = self.lr_at(self.step)
        self.net.train()
        loss = self.loss_on(x0, cond, gen, batch.frame_valid)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.opts.grad_clip)
        self.opt.step()
        self.step += 1
        return float(loss.detach())

    @torch.no_grad()
    def val_loss(self, batches: int = 4) -> float:
        """x0 MSE on fixed validation batches (validation clips, fixed seed)."""
        clips = self.val_clips or self.clips
        rng = np.random.default_rng(999)
        gen = torch.Generator().manual_seed(999)
        self.net.eval()
        losses = []
        for _ in range(batches):
            batch = make_batch(clips, self.opts.batch_size, self.cfg, self.stats, rng)
            x0, cond = stage_batch(batch, self.opts.stage, self.stats, rng)
            losses.append(float(self.loss_on(x0, cond, gen, batch.frame_valid)))
        return float(np.mean(losses))

    def run(self, max_seconds: float | None = None, progress: bool = True) -> LoadedModel:
        """Train until ``opts.steps`` (or ``max_seconds``), checkpointing on the way."""
        from ..progress import progress_bar

        t0 = time.time()
        running = []
        bar = progress_bar(self.opts.steps, f"train stage {self.opts.stage}", not progress or self.rank != 0, "step")
        bar.update(self.step)
        while self.step < self.opts.steps:
            running.append(self.train_step())
            bar.update(1)
            if self.step % self.opts.log_every == 0 or self.step == self.opts.steps:
                entry = {"step": self.step, "loss": float(np.mean(running)), "lr": self.lr_at(self.step - 1),
                         "seconds": round(time.time() - t0, 1)}
                running = []
                self.history.append(entry)
                if progress and self.rank == 0:
                    log.info("stage %d step %d/%d loss %.4f", self.opts.stage, self.step, self.opts.steps, entry["loss"])
            if self.step % self.opts.checkpoint_every == 0 or self.step == self.opts.steps:
                self.save_checkpoint()
            if max_seconds is not None and self._agree(time.time() - t0 > max_seconds):
                self.save_checkpoint()
                break
        bar.close()
        return self.model()

    def _agree(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (ranks must stop at the same step)."""
        if self.world == 1:
            return flag
        t = torch.tensor([int(flag)], device=self.device if dist.get_backend() == "nccl" else "cpu")
        dist.broadcast(t, 0)
        return bool(t.item())

    def model(self) -> LoadedModel:
        info = {"stage": self.opts.stage, "steps": self.step, "options": asdict(self.opts), "history": self.history[-20:]}
        return LoadedModel(self.net, self.stats, info)

    def save_checkpoint(self) -> None:
        """Rank 0 writes weights, optimiser and state (with every rank's sampler state)."""
        rngs = [self.rng.bit_generator.state]
        if self.world > 1:
            rngs = [None] * self.world
            dist.all_gather_object(rngs, self.rng.bit_generator.state)
        if self.rank != 0:
            return
        save_model(self.model(), self.out / "last.safetensors")
        opt_tensors = {}
        for i, (p, st) in enumerate(((p, self.opt.state[p]) for p in self.net.parameters())):
            for k, v in st.items():
                opt_tensors[f"{i}.{k}"] = v.detach().cpu() if torch.is_tensor(v) else torch.tensor(v)
        opt_tensors["torch_rng"] = torch.get_rng_state()
        atomic_save(opt_tensors, self.out / "optim.safetensors", {"format": "mocap_fast-optim-1"})
        state = {"step": self.step, "rng": rngs[0], "rngs": rngs, "history": self.history,
                 "options": asdict(self.opts), "config": self.cfg.to_dict()}
        tmp = self.out / "state.json.tmp"
        tmp.write_text(json.dumps(state, default=int))
        tmp.replace(self.out / "state.json")

    def _resume(self) -> None:
        state_path = self.out / "state.json"
        if not state_path.is_file():
            return
        state = json.loads(state_path.read_text())
        if state.get("config") != self.cfg.to_dict() or state["options"]["stage"] != self.opts.stage:
            raise ValueError(f"out: {self.out} holds a checkpoint of another config or stage; use a new folder")
        rngs = state.get("rngs", [state["rng"]])
        if len(rngs) != self.world:
            raise ValueError(f"out: checkpoint was written by {len(rngs)} processes; resume it with as many, not {self.world}")
        loaded = load_model(self.out / "last.safetensors", self.device)
        self.net.load_state_dict(loaded.net.state_dict())
        self.stats = loaded.stats
        opt = load_file(str(self.out / "optim.safetensors"), device=str(self.device))
        torch.set_rng_state(opt.pop("torch_rng").cpu())
        for i, p in enumerate(self.net.parameters()):
            st = {k.split(".", 1)[1]: v for k, v in opt.items() if k.split(".", 1)[0] == str(i)}
            if st:
                self.opt.state[p] = st
        self.step = state["step"]
        self.rng.bit_generator.state = rngs[self.rank]
        self.history = state["history"]
        log.info("resumed %s at step %d", self.out, self.step)
