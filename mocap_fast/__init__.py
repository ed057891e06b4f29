"""mocap_fast: metric 3D world motion from the 2D keypoints of one calibrated camera (Mocap-2-to-3)."""

from .camera_estimation import estimate_camera
from .lifting import LiftResult, lift
from .reference.camera import Camera
from .triangulation import triangulate

__version__ = "0.1.0"
__all__ = ["Camera", "LiftResult", "estimate_camera", "lift", "triangulate", "__version__"]
