"""Plain-PyTorch reference implementations: the authors' algorithms written clearly, no speed tricks.

Every fast path in :mod:`mocap_fast.kernels` is tested against the function here it replaces.
"""

from .camera import (
    Camera,
    canvas_offset,
    canvas_side,
    ground_pointmap,
    look_at,
    look_rotation,
    normalized_intrinsics,
    normalized_to_pixels,
    pixels_to_normalized,
    pose_embedding,
    project,
    projection_matrix,
    rigid_transform,
)
from .consistency import consistency_step, decode_observed, decode_views, reproject_encode, triangulate_views
from .diffusion import (
    Schedule, cosine_schedule, ddim_step, posterior_coefficients, posterior_step, q_sample, world_noise, world_noise_samples,
)
from .representation import Standardizer, decode, encode
from .triangulation import triangulate_dlt, triangulation_angle

__all__ = [
    "Camera", "Schedule", "Standardizer", "canvas_offset", "canvas_side", "consistency_step", "cosine_schedule",
    "ddim_step", "decode", "decode_observed", "decode_views", "encode", "ground_pointmap", "look_at", "look_rotation", "normalized_intrinsics",
    "normalized_to_pixels", "pixels_to_normalized", "pose_embedding", "posterior_coefficients", "posterior_step", "project",
    "projection_matrix", "q_sample", "reproject_encode", "rigid_transform", "triangulate_dlt",
    "triangulate_views", "triangulation_angle", "world_noise", "world_noise_samples",
]
