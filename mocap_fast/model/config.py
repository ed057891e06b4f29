"""Network configurations (DESIGN §3) as dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a :class:`~mocap_fast.model.network.MotionDenoiser`.

    Attributes:
        num_joints: joints per frame (22 for SMPL-22); the frame vector has ``2 J + 2`` channels.
        num_views: V, views per sample (1 for the single-view 2D model).
        width: token width D.
        layers: transformer layers.
        heads: attention heads.
        ffn: feed-forward hidden width.
        dropout: dropout probability in attention and FFN.
        pointmap_res: side of the ground pointmap grid (pixels of a square canvas).
        pointmap_base: channels of the first ResNet-18 stage (64 in ResNet-18; stages are 1, 2, 4, 8 x).
        use_pointmap: whether the ground pointmap encoder and cross-attention exist.
        window: frames the model is trained on; :func:`mocap_fast.lift` slides windows this long.
        diffusion_steps: training diffusion steps (cosine schedule).
    """

    num_joints: int = 22
    num_views: int = 4
    width: int = 128
    layers: int = 4
    heads: int = 4
    ffn: int = 256
    dropout: float = 0.1
    pointmap_res: int = 96
    pointmap_base: int = 16
    use_pointmap: bool = True
    window: int = 64
    diffusion_steps: int = 100

    @property
    def channels(self) -> int:
        return 2 * self.num_joints + 2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"config: unknown keys {sorted(unknown)}")
        return cls(**d)

    def replace(self, **changes) -> "ModelConfig":
        return ModelConfig.from_dict({**self.to_dict(), **changes})


PAPER = ModelConfig(width=512, layers=8, heads=4, ffn=1024, pointmap_res=224, pointmap_base=64, window=120)
"""The authors' configuration: about 59 M parameters with the pointmap encoder."""

SMALL = ModelConfig()
"""The packaged default: runs a 10 s clip on 2 CPU cores in seconds (see bench/RESULTS.md)."""

TINY = ModelConfig(width=32, layers=2, heads=2, ffn=64, pointmap_res=32, pointmap_base=4, window=16, dropout=0.0)
"""For tests: a few thousand parameters."""

CONFIGS = {"paper": PAPER, "small": SMALL, "tiny": TINY}


def get_config(name: str) -> ModelConfig:
    """Look up a named configuration (``paper``, ``small``, ``tiny``)."""
    if name not in CONFIGS:
        raise ValueError(f"config: unknown configuration {name!r}; expected one of {sorted(CONFIGS)}")
    return CONFIGS[name]
