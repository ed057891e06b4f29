"""Fused DDPM posterior step with world-consistent noise on the GPU with Triton.

Matches ``posterior_step(x_t, x0_pred, s, world_noise(R, ...), sched)`` of
:mod:`mocap_fast.reference.diffusion` for ``s > 0``, in one pass over memory:

``out[b, v, t, 2k + i] = c1 * x0[b, v, t, 2k + i] + c2 * x_t[b, v, t, 2k + i]
+ sigma * sum_j R[b, v, i, j] * n[b, t, k, j]``  for ``i in {0, 1}``,

with ``c1, c2`` the posterior-mean coefficients of step ``s``, ``sigma = exp(log_var / 2)`` and
``n [B, T, C/2, 3]`` the standard normal 3D samples that ``world_noise`` rotates into each view
(:func:`mocap_fast.reference.diffusion.world_noise_samples` draws them, so the same generator gives
the same numbers on both paths). The reference materialises the rotated noise ``[B, V, T, C]``
and the mean as separate tensors; here each element is read once and written once.

One program handles ``BLOCK`` channel pairs of one (clip, view): grid ``(B * V, cdiv(T * C/2,
BLOCK))``. The 2x3 rotation block of the program's view stays in registers. Arithmetic and
output in the dtype of ``x_t`` (float32 in the sampler). Like the other Triton
kernels here it uses only Triton builtins, so the tests can run it under ``TRITON_INTERPRET=1``
on CPU tensors.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK = 256  # channel pairs per program


@triton.jit
def _posterior_kernel(
    xt_ptr, x0_ptr, n_ptr, r_ptr, out_ptr,
    V, TH, c1, c2, sigma,
    BLOCK: tl.constexpr,
):
    bv = tl.program_id(0).to(tl.int64)  # int64 offsets: B * V * T * C may exceed 2**31
    b = bv // V
    offs = tl.program_id(1).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < TH
    cdt = out_ptr.dtype.element_ty
    rb = r_ptr + bv * 9
    r00 = tl.load(rb).to(cdt)
    r01 = tl.load(rb + 1).to(cdt)
    r02 = tl.load(rb + 2).to(cdt)
    r10 = tl.load(rb + 3).to(cdt)
    r11 = tl.load(rb + 4).to(cdt)
    r12 = tl.load(rb + 5).to(cdt)
    nb = n_ptr + (b * TH + offs) * 3
    n0 = tl.load(nb, mask=mask, other=0.0).to(cdt)
    n1 = tl.load(nb + 1, mask=mask, other=0.0).to(cdt)
    n2 = tl.load(nb + 2, mask=mask, other=0.0).to(cdt)
    xo = (bv * TH + offs) * 2
    for i in tl.static_range(2):
        if i == 0:
            rot = r00 * n0 + r01 * n1 + r02 * n2
        else:
            rot = r10 * n0 + r11 * n1 + r12 * n2
        xt = tl.load(xt_ptr + xo + i, mask=mask, other=0.0).to(cdt)
        x0 = tl.load(x0_ptr + xo + i, mask=mask, other=0.0).to(cdt)
        out = c1 * x0 + c2 * xt + sigma * rot
        tl.store(out_ptr + xo + i, out.to(out_ptr.dtype.element_ty), mask=mask)


def posterior_step_triton(
    x_t: torch.Tensor, x0_pred: torch.Tensor, noise3d: torch.Tensor, rotations: torch.Tensor,
    c1: float, c2: float, sigma: float,
) -> torch.Tensor:
    """Launcher.

    Args:
        x_t, x0_pred: ``[B, V, T, C]`` (C even), same dtype and device.
        noise3d: ``[B, T, C/2, 3]`` standard normal 3D samples.
        rotations: ``[B, V, 3, 3]`` world-to-camera rotations.
        c1, c2, sigma: posterior-mean coefficients and noise scale of the step.

    Returns:
        ``[B, V, T, C]`` in ``x_t``'s dtype.
    """
    B, V, T, C = x_t.shape
    if C % 2 or x0_pred.shape != x_t.shape or noise3d.shape != (B, T, C // 2, 3) or rotations.shape != (B, V, 3, 3):
        raise ValueError(
            f"posterior_step_triton: shapes x_t {tuple(x_t.shape)}, x0_pred {tuple(x0_pred.shape)}, "
            f"noise3d {tuple(noise3d.shape)}, rotations {tuple(rotations.shape)} do not fit [B, V, T, C] / "
            "[B, T, C/2, 3] / [B, V, 3, 3]"
        )
    xt = x_t.contiguous()
    out = torch.empty_like(xt)
    TH = T * C // 2
    grid = (B * V, triton.cdiv(TH, BLOCK))
    _posterior_kernel[grid](
        xt, x0_pred.to(xt.dtype).contiguous(), noise3d.contiguous(), rotations.to(xt.dtype).contiguous(), out,
        V, TH, float(c1), float(c2), float(sigma), BLOCK=BLOCK,
    )
    return out
