"""Attention over the view axis, the reference of ``kernels/view_attention_triton.py``."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def view_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """The ``"view_attention"`` op of :data:`mocap_fast.backends.OPS`: softmax attention within
    each group of tokens, no mask, no dropout.

    Args:
        q, k, v: ``[G, H, L, Dh]`` (the model passes L = V = 4 views) of one dtype and device.
        scale: logit scale, default ``1 / sqrt(Dh)``.

    Returns:
        ``[G, H, L, Dh]`` in the input dtype (``scaled_dot_product_attention``; differentiable).
    """
    return F.scaled_dot_product_attention(q, k, v, scale=scale)
