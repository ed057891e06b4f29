"""ResNet-18 trunk, written in plain PyTorch and trained from scratch, that turns a ground
pointmap into a grid of tokens (DESIGN §3: 224 x 224 -> 7 x 7 tokens of the model width)."""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet v1 basic block)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


def pointmap_features(pointmap: torch.Tensor) -> torch.Tensor:
    """Pointmap ``[N, R, R, 3]`` (world metres, zeros = no ground) to network input ``[N, 4, R, R]``.

    Coordinates are compressed with ``sign(x) log(1 + |x|)`` (hits near the horizon lie hundreds
    of metres away); the 4th channel marks pixels that see the ground.
    """
    valid = (pointmap.abs().sum(-1, keepdim=True) > 0).to(pointmap.dtype)
    squashed = torch.sign(pointmap) * torch.log1p(pointmap.abs())
    return torch.cat([squashed, valid], dim=-1).permute(0, 3, 1, 2).contiguous()


class PointmapEncoder(nn.Module):
    """ResNet-18 trunk (stem, 4 stages of 2 basic blocks, widths ``base x (1, 2, 4, 8)``, total
    stride 32) and a 1x1 projection to ``width``, plus a learned position embedding per token.

    Input ``[N, R, R, 3]`` pointmaps; output ``[N, P, width]`` tokens, ``P = ceil(R / 32)^2``.
    """

    def __init__(self, res: int, base: int, width: int):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(4, base, 7, 2, 3, bias=False), nn.BatchNorm2d(base), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        )
        stages, c = [], base
        for i, mult in enumerate((1, 2, 4, 8)):
            c_out = base * mult
            stride = 1 if i == 0 else 2
            stages += [BasicBlock(c, c_out, stride), BasicBlock(c_out, c_out, 1)]
            c = c_out
        self.stages = nn.Sequential(*stages)
        self.proj = nn.Conv2d(c, width, 1)
        self.num_tokens = self.grid_size(res) ** 2
        self.pos = nn.Parameter(torch.randn(self.num_tokens, width) * 0.02)

    @staticmethod
    def grid_size(res: int) -> int:
        """Output grid side for an input of side ``res`` (stem /4, three stride-2 stages)."""
        for _ in range(5):
            res = (res + 1) // 2
        return res

    def forward(self, pointmap: torch.Tensor) -> torch.Tensor:
        y = self.proj(self.stages(self.stem(pointmap_features(pointmap))))
        return y.flatten(2).transpose(1, 2) + self.pos
