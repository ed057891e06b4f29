"""Attention over groups of 4 tokens (the view axis) with Triton (matches
``torch.nn.functional.scaled_dot_product_attention`` without mask or dropout).

The multi-view denoiser attends over the V = 4 views of every (sample, position): millions of
tiny 4-token sequences, for which generic attention kernels waste most of their time on launch
and tiling overhead. Here one program handles ``BLOCK_R`` (group, head) rows; each row's four
query, key and value vectors are loaded once, the 4x4 scores ``q_i . k_j * scale``, their softmax
(max-subtracted, ``exp2``) and the weighted sum of values stay in registers, in float32 whatever
the input dtype, and the result is stored in the input dtype.

Shapes: ``q, k, v [G, H, 4, Dh]`` (any strides; the model passes head-split views of the
projection outputs without copying), output ``[G, H, 4, Dh]`` laid out as ``[G, 4, H, Dh]`` in
memory, so ``out.transpose(1, 2).flatten(-2)`` (the input of the output projection) is a free
view. ``Dh`` is any size (padded to a power of two inside). Tensors on CUDA, or on the CPU under
``TRITON_INTERPRET=1`` (set before this module is first imported). Like
:mod:`mocap_fast.kernels.triangulate_triton` the kernel uses only Triton builtins, no ``@jit``
function of ``triton.language.standard`` (``tl.sum`` is replaced by ``tl.reduce`` with a local
combine function), so the tests can interpret it in a process that imported Triton normally.

Forward only: :func:`view_attention` wraps the kernel in a ``torch.autograd.Function`` whose
backward recomputes the attention with plain PyTorch SDPA and differentiates that. This is the
clean fallback for training; the model uses the kernel only for inference (see
``mocap_fast.model.network.ViewAttention``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import triton
import triton.language as tl

TOKENS = 4
LOG2E = 1.4426950408889634


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _dot(a, b):
    """Row-wise dot product of ``[R, D]`` blocks (``tl.reduce`` with our own combine function rather
    than ``tl.sum``, see the module docstring)."""
    return tl.reduce(a * b, 1, _add)


@triton.jit
def _attend_one(qi, k0, k1, k2, k3, v0, v1, v2, v3, qk_scale):
    """Softmax-weighted sum of the four values for one query (``[R, D]`` blocks, float32)."""
    s0 = _dot(qi, k0) * qk_scale
    s1 = _dot(qi, k1) * qk_scale
    s2 = _dot(qi, k2) * qk_scale
    s3 = _dot(qi, k3) * qk_scale
    m = tl.maximum(tl.maximum(s0, s1), tl.maximum(s2, s3))
    e0 = tl.exp2(s0 - m)
    e1 = tl.exp2(s1 - m)
    e2 = tl.exp2(s2 - m)
    e3 = tl.exp2(s3 - m)
    inv = 1.0 / (e0 + e1 + e2 + e3)
    return (e0 * inv)[:, None] * v0 + (e1 * inv)[:, None] * v1 + (e2 * inv)[:, None] * v2 + (e3 * inv)[:, None] * v3


@triton.jit
def _view_attention_kernel(
    q_ptr, k_ptr, v_ptr, o_ptr, n_rows, H, D, qk_scale,
    sq_g, sq_h, sq_t, sq_d, sk_g, sk_h, sk_t, sk_d, sv_g, sv_h, sv_t, sv_d, so_g, so_h, so_t, so_d,
    BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid.to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    g = rows // H
    h = rows % H
    d = tl.arange(0, BLOCK_D)
    mask = (rows < n_rows)[:, None] & (d < D)[None, :]
    qb = q_ptr + (g * sq_g + h * sq_h)[:, None] + d[None, :] * sq_d
    kb = k_ptr + (g * sk_g + h * sk_h)[:, None] + d[None, :] * sk_d
    vb = v_ptr + (g * sv_g + h * sv_h)[:, None] + d[None, :] * sv_d
    ob = o_ptr + (g * so_g + h * so_h)[:, None] + d[None, :] * so_d
    k0 = tl.load(kb, mask=mask, other=0.0).to(tl.float32)
    k1 = tl.load(kb + sk_t, mask=mask, other=0.0).to(tl.float32)
    k2 = tl.load(kb + 2 * sk_t, mask=mask, other=0.0).to(tl.float32)
    k3 = tl.load(kb + 3 * sk_t, mask=mask, other=0.0).to(tl.float32)
    v0 = tl.load(vb, mask=mask, other=0.0).to(tl.float32)
    v1 = tl.load(vb + sv_t, mask=mask, other=0.0).to(tl.float32)
    v2 = tl.load(vb + 2 * sv_t, mask=mask, other=0.0).to(tl.float32)
    v3 = tl.load(vb + 3 * sv_t, mask=mask, other=0.0).to(tl.float32)
    for i in tl.static_range(4):
        qi = tl.load(qb + i * sq_t, mask=mask, other=0.0).to(tl.float32)
        oi = _attend_one(qi, k0, k1, k2, k3, v0, v1, v2, v3, qk_scale)
        tl.store(ob + i * so_t, oi.to(o_ptr.dtype.element_ty), mask=mask)


def view_attention_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """Run the kernel (no autograd). ``q, k, v [G, H, 4, Dh]`` of one dtype and device; returns
    ``[G, H, 4, Dh]`` (memory layout ``[G, 4, H, Dh]``). ``scale`` defaults to ``1 / sqrt(Dh)``."""
    if q.ndim != 4 or q.shape[2] != TOKENS:
        raise ValueError(f"q: expected shape (G, H, 4, Dh), got {tuple(q.shape)}")
    if k.shape != q.shape or v.shape != q.shape:
        raise ValueError(f"k, v: expected shape {tuple(q.shape)}, got {tuple(k.shape)} and {tuple(v.shape)}")
    G, H, _, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty(G, TOKENS, H, D, dtype=q.dtype, device=q.device).transpose(1, 2)
    n_rows = G * H
    if n_rows == 0 or D == 0:
        return out
    block_d = triton.next_power_of_2(D)
    block_r = max(1, min(128, 1024 // block_d))
    grid = (triton.cdiv(n_rows, block_r),)
    _view_attention_kernel[grid](
        q, k, v, out, n_rows, H, D, float(scale) * LOG2E,
        *q.stride(), *k.stride(), *v.stride(), *out.stride(),
        BLOCK_R=block_r, BLOCK_D=block_d, num_warps=4,
    )
    return out


class ViewAttentionFunction(torch.autograd.Function):
    """Triton forward; backward recomputes ``scaled_dot_product_attention`` in plain PyTorch and
    differentiates it (the clean fallback for training: no extra kernel to maintain)."""

    @staticmethod
    def forward(ctx, q, k, v, scale):
        ctx.save_for_backward(q, k, v)
        ctx.scale = scale
        return view_attention_forward(q, k, v, scale)

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v = ctx.saved_tensors
        with torch.enable_grad():
            qd, kd, vd = (t.detach().requires_grad_(True) for t in (q, k, v))
            y = F.scaled_dot_product_attention(qd, kd, vd, scale=ctx.scale)
            gq, gk, gv = torch.autograd.grad(y, (qd, kd, vd), grad_out)
        return gq, gk, gv, None


def view_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """``scaled_dot_product_attention(q, k, v)`` for ``[G, H, 4, Dh]`` groups of four tokens:
    Triton forward, PyTorch-recompute backward."""
    return ViewAttentionFunction.apply(q, k, v, scale)
