"""Levelling a capture floor (mocap_fast.data.floor) on a synthetic stepping walk."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from helpers import stepping_walk
from mocap_fast.data.floor import contact_points, floor_slope, level_floor


def tilted(X: np.ndarray, degrees: float, axis: str = "z") -> np.ndarray:
    return X @ Rotation.from_euler(axis, degrees, degrees=True).as_matrix().T


def test_contacts_are_the_planted_feet():
    P = contact_points(stepping_walk())
    assert len(P) >= 115 and np.abs(P[:, 1] - 0.02).max() < 1e-9  # the planted toes, never a swinging foot


def test_level_clip_is_left_alone():
    X = stepping_walk()
    np.testing.assert_allclose(floor_slope(X), 0.0, atol=1e-12)
    Y, tilt = level_floor(X)
    assert tilt < 1e-6 and np.abs(Y - X).max() < 1e-9


@pytest.mark.parametrize("degrees,axis", [(2.0, "z"), (-1.3, "z"), (1.5, "x")])
def test_tilted_walk_is_levelled(degrees, axis):
    X = stepping_walk()
    if axis == "x":  # walk along z so the slope is along the walk
        X = X @ Rotation.from_euler("y", 90, degrees=True).as_matrix().T
    Y, tilt = level_floor(tilted(X, degrees, axis))
    assert abs(tilt - abs(degrees)) < 0.01  # degrees
    np.testing.assert_allclose(floor_slope(Y), 0.0, atol=1e-9)
    P = contact_points(Y)
    assert np.ptp(P[:, 1]) < 1e-6  # metres: every contact at one height again
    d = lambda A: np.linalg.norm(A[:, :, None] - A[:, None], axis=-1)  # noqa: E731  a rigid turn: no distortion
    np.testing.assert_allclose(d(Y), d(X), atol=1e-9)


def test_slope_across_a_straight_walk_is_not_guessed():
    """Contacts along a line say nothing about the slope across it: only the slope along is removed."""
    X = tilted(tilted(stepping_walk(), 2.0, "z"), 3.0, "x")
    gx, gz = floor_slope(X)
    assert abs(gx - np.tan(np.radians(2.0))) < 2e-3 and gz == pytest.approx(0.0, abs=2e-3)


def test_in_place_motion_is_returned_unchanged():
    X = tilted(stepping_walk(speed=0.005), 3.0, "z")  # 0.6 m of travel: too little to see a slope
    Y, tilt = level_floor(X)
    assert tilt == 0.0 and np.abs(Y - X).max() == 0.0
