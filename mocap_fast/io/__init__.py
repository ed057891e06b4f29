"""File inputs and outputs: keypoint readers, camera files and motion exports (BVH, glTF, C3D, JSON, NPZ).

* :func:`load_keypoints` (:mod:`.keypoints`): OpenPose folders, COCO / MMPose JSON, npz / npy,
  VideoPose3D npz -> :class:`Keypoints2D`.
* :func:`read_camera` / :func:`write_camera` (:mod:`.camera_file`): JSON and OpenCV YAML cameras.
* :func:`export_result` and the per-format writers (:mod:`.export`, :mod:`.c3d`, :mod:`.skeleton`).
"""

from .camera_file import read_camera, write_camera
from .export import EXPORT_FORMATS, export_result, write_bvh, write_c3d_joints, write_gltf, write_json, write_npz
from .keypoints import Keypoints2D, load_keypoints

__all__ = [
    "load_keypoints",
    "Keypoints2D",
    "read_camera",
    "write_camera",
    "export_result",
    "EXPORT_FORMATS",
    "write_bvh",
    "write_gltf",
    "write_c3d_joints",
    "write_json",
    "write_npz",
]
