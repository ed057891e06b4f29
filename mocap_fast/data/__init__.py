"""Training and evaluation motion data: clip loaders (mocap30, HumanML3D, .npy, BVH) and a BVH reader."""

from .bvh import BvhMotion, bvh_to_smpl22, parse_bvh, read_bvh
from .clips import Clip, load_clip_folder, load_humanml3d, load_motion_folder, resample

__all__ = [
    "Clip",
    "resample",
    "load_clip_folder",
    "load_humanml3d",
    "load_motion_folder",
    "BvhMotion",
    "read_bvh",
    "parse_bvh",
    "bvh_to_smpl22",
]
