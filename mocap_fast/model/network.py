"""The single-view and multi-view motion denoisers (DESIGN §3).

One token per (view, frame) plus one condition token per view at sequence position 0. Each layer:

1. view attention over the V views of each sequence position (multi-view model only),
2. view attention over the V views of each pointmap token (multi-view model only),
3. temporal self-attention per view (with a key padding mask),
4. cross-attention of each view's tokens to that view's pointmap tokens,
5. feed-forward.

Blocks 3-5 are the MDM-style post-norm transformer of the 2D model. Blocks 1-2 are inserted as
residual branches ``x + Z(attn(LN(x)))`` whose output linear ``Z`` starts at zero, so a
multi-view model initialised from a 2D model computes exactly that 2D model per view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..backends import kernel
from .config import ModelConfig
from .pointmap_encoder import PointmapEncoder

K_SCALE = 1.0
"""Normalised intrinsics ``K_g`` (canvas units, see :func:`normalized_intrinsics`) are O(1) already."""


def zero_linear(d_in: int, d_out: int) -> nn.Linear:
    """A linear layer initialised to output zeros."""
    lin = nn.Linear(d_in, d_out)
    nn.init.zeros_(lin.weight)
    nn.init.zeros_(lin.bias)
    return lin


def sinusoidal(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sinusoidal embedding of ``positions [...]`` (float) -> ``[..., dim]``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    ang = positions.float()[..., None] * freqs
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1)


class Attention(nn.Module):
    """Multi-head attention on ``[N, L, D]`` queries and ``[N, S, D]`` keys/values via SDPA."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)
        self.dropout = dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.heads, -1)).transpose(-2, -3)

    def keys_values(self, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-head keys and values ``[N, H, S, D / H]`` of the context; cacheable when it is constant."""
        k, v = self.kv(ctx).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def forward(
        self,
        x: torch.Tensor,
        ctx: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
        kv: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``key_mask [N, S]`` bool, True = attend. ``kv`` replaces ``ctx`` with precomputed keys/values."""
        q = self.split(self.q(x))
        k, v = kv if kv is not None else self.keys_values(x if ctx is None else ctx)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(-2, -3).flatten(-2))


class ViewAttention(nn.Module):
    """Residual branch ``x + Z(attn(LN(x)))`` attending over the view axis of ``[B, V, L, D]``."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.attn = Attention(width, heads, dropout)
        self.zero = zero_linear(width, width)

    def forward(self, x: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """``x [B, V, L, D]``. In inference with V = 4 the attention is the ``"view_attention"`` op
        of ``backend`` (:data:`mocap_fast.backends.OPS`: the fused Triton kernel on CUDA);
        otherwise, and in training, :class:`Attention` (same maths)."""
        B, V, L, D = x.shape
        seq = self.norm(x).permute(0, 2, 1, 3).reshape(B * L, V, D)
        if V == 4 and self._inference():
            attn = self.attn
            k, v = attn.keys_values(seq)
            o = kernel("view_attention", backend, x.device)(attn.split(attn.q(seq)), k, v)
            a = attn.out(o.transpose(-2, -3).flatten(-2))
        else:
            a = self.attn(seq)
        y = self.zero(a).reshape(B, L, V, D).permute(0, 2, 1, 3)
        return x + y

    def _inference(self) -> bool:
        """No dropout to apply and no training graph to build: the op may be used (training keeps
        the plain PyTorch path; the Triton kernel's backward would only recompute it)."""
        return not (self.training and (torch.is_grad_enabled() or self.attn.dropout > 0.0))


class DenoiserLayer(nn.Module):
    """One layer (see the module docstring)."""

    def __init__(self, cfg: ModelConfig, multiview: bool):
        super().__init__()
        D, H, p = cfg.width, cfg.heads, cfg.dropout
        self.view_frames = ViewAttention(D, H, p) if multiview else None
        self.view_points = ViewAttention(D, H, p) if multiview and cfg.use_pointmap else None
        self.temporal = Attention(D, H, p)
        self.norm1 = nn.LayerNorm(D)
        self.cross = Attention(D, H, p) if cfg.use_pointmap else None
        self.norm2 = nn.LayerNorm(D) if cfg.use_pointmap else None
        self.ffn = nn.Sequential(nn.Linear(D, cfg.ffn), nn.GELU(), nn.Dropout(p), nn.Linear(cfg.ffn, D))
        self.norm3 = nn.LayerNorm(D)
        self.drop = nn.Dropout(p)

    def forward(
        self,
        x: torch.Tensor,
        points: torch.Tensor | None,
        key_mask: torch.Tensor | None,
        cross_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        backend: str = "auto",
    ) -> torch.Tensor:
        """``x [B, V, L, D]`` tokens, ``points [B, V, P, D]`` pointmap tokens of this layer,
        ``key_mask [B, L]`` bool (True = real token), ``cross_kv`` cached cross-attention keys/values,
        ``backend`` of the view attention."""
        B, V, L, D = x.shape
        if self.view_frames is not None:
            x = self.view_frames(x, backend)
        seq = x.reshape(B * V, L, D)
        mask = None if key_mask is None else key_mask.repeat_interleave(V, dim=0)
        seq = self.norm1(seq + self.drop(self.temporal(seq, key_mask=mask)))
        if self.cross is not None:
            ctx = None if points is None else points.reshape(B * V, -1, D)
            seq = self.norm2(seq + self.drop(self.cross(seq, ctx, kv=cross_kv)))
        seq = self.norm3(seq + self.drop(self.ffn(seq)))
        return seq.reshape(B, V, L, D)


@dataclass
class Conditions:
    """Everything the denoiser is conditioned on besides the noisy sample and the step.

    Attributes:
        K_g: ``[B, V, 3, 3]`` normalised intrinsics of every view.
        T_w2c: ``[B, V, 4, 4]`` world-to-camera transforms.
        observed: ``[B, T, C]`` standardised frame vectors of the observed view (view 0).
        observed_mask: ``[B, T, J]`` observation confidence in [0, 1] (0 = missing joint).
        frame_mask: ``[B, T]`` bool, True for real frames (False = padding), or ``None``.
        pointmaps: ``[B, V, R, R, 3]`` ground pointmaps, or ``None`` when the model has none.
    """

    K_g: torch.Tensor
    T_w2c: torch.Tensor
    observed: torch.Tensor
    observed_mask: torch.Tensor
    frame_mask: torch.Tensor | None = None
    pointmaps: torch.Tensor | None = None


def camera_features(K_g: torch.Tensor, T_w2c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera pose (tilt, roll, height) ``[..., 3]`` and intrinsics (fx, fy, cx, cy of ``K_g``) ``[..., 4]``."""
    from mocap_fast.reference.camera import pose_embedding

    pose = pose_embedding(T_w2c)
    k = torch.stack([K_g[..., 0, 0], K_g[..., 1, 1], K_g[..., 0, 2], K_g[..., 1, 2]], dim=-1) * K_SCALE
    return pose, k


class MotionDenoiser(nn.Module):
    """x0-predicting denoiser over ``[B, V, T, C]`` standardised frame vectors.

    ``multiview=False`` builds the single-view 2D model (no view attention); its weights load
    into the multi-view model (:meth:`load_2d_weights`) which then reproduces it per view.
    """

    def __init__(self, cfg: ModelConfig, multiview: bool = True):
        super().__init__()
        self.cfg = cfg
        self.multiview = multiview
        D, C, J = cfg.width, cfg.channels, cfg.num_joints
        self.inp = nn.Linear(C, D)
        self.out = nn.Linear(D, C)
        self.time = nn.Sequential(nn.Linear(D, D), nn.SiLU(), nn.Linear(D, D))
        self.pose_emb = zero_linear(3, D)
        self.k_emb = zero_linear(4, D)
        self.obs_emb = zero_linear(C + J, D)
        self.pointmap = PointmapEncoder(cfg.pointmap_res, cfg.pointmap_base, D) if cfg.use_pointmap else None
        self.layers = nn.ModuleList(DenoiserLayer(cfg, multiview) for _ in range(cfg.layers))

    def encode_pointmaps(self, pointmaps: torch.Tensor) -> torch.Tensor:
        """``[B, V, R, R, 3]`` -> ``[B, V, P, D]`` pointmap tokens (constant over diffusion steps)."""
        B, V = pointmaps.shape[:2]
        return self.pointmap(pointmaps.flatten(0, 1)).unflatten(0, (B, V))

    def condition_tokens(self, step: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """Condition token ``[B, V, 1, D]``: timestep + camera pose + intrinsics embeddings."""
        pose, k = camera_features(cond.K_g, cond.T_w2c)
        t = self.time(sinusoidal(step, self.cfg.width))  # [B, D]
        tok = t[:, None] + self.pose_emb(pose.float()) + self.k_emb(k.float())
        return tok[:, :, None]

    def forward(
        self,
        x_t: torch.Tensor,
        step: torch.Tensor,
        cond: Conditions,
        points: torch.Tensor | None = None,
        cache: list | None = None,
        backend: str = "auto",
    ) -> torch.Tensor:
        """Predict clean frame vectors.

        Args:
            x_t: ``[B, V, T, C]`` noisy standardised frame vectors.
            step: ``[B]`` diffusion step indices.
            cond: :class:`Conditions`.
            points: pointmap tokens from :meth:`encode_pointmaps` (computed here when ``None``).
            cache: per-layer cross-attention keys/values from :meth:`cross_cache`, or ``None``.
            backend: ``"auto"``, ``"fast"`` or ``"reference"`` for the view attention (see
                :mod:`mocap_fast.backends`).

        Returns:
            ``[B, V, T, C]`` predicted x0.
        """
        B, V, T, _ = x_t.shape
        obs = torch.cat([cond.observed * (cond.observed_mask.amax(-1, keepdim=True) > 0), cond.observed_mask], dim=-1)
        frames = self.inp(x_t) + self.obs_emb(obs)[:, None]
        tokens = torch.cat([self.condition_tokens(step, cond), frames], dim=2)
        tokens = tokens + sinusoidal(torch.arange(T + 1, device=x_t.device), self.cfg.width)
        key_mask = None
        if cond.frame_mask is not None:
            key_mask = torch.cat([torch.ones_like(cond.frame_mask[:, :1]), cond.frame_mask], dim=1)
        if self.pointmap is not None and points is None and cache is None:
            points = self.encode_pointmaps(cond.pointmaps)
        for i, layer in enumerate(self.layers):
            if layer.view_points is not None and points is not None:
                points = layer.view_points(points, backend)
            tokens = layer(tokens, points, key_mask, None if cache is None else cache[i], backend)
        return self.out(tokens[:, :, 1:])

    @torch.no_grad()
    def cross_cache(self, points: torch.Tensor, backend: str = "auto") -> list:
        """Cross-attention keys/values of every layer for fixed pointmap tokens ``[B, V, P, D]``
        (``backend`` of the view attention).

        The pointmap stream does not depend on the noisy sample, so this is exact for all steps.
        """
        cache = []
        B, V, P, D = points.shape
        for layer in self.layers:
            if layer.view_points is not None:
                points = layer.view_points(points, backend)
            cache.append(layer.cross.keys_values(points.reshape(B * V, P, D)) if layer.cross is not None else None)
        return cache

    def load_2d_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Load a single-view model's ``state_dict``; view-attention branches keep their zero init."""
        missing, unexpected = self.load_state_dict(state, strict=False)
        if unexpected:
            raise ValueError(f"state: unexpected keys for this model: {unexpected[:5]}")
        bad = [k for k in missing if ".view_frames." not in k and ".view_points." not in k]
        if bad:
            raise ValueError(f"state: missing keys: {bad[:5]}")
