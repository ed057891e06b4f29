import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import CAM, SHARED_DATA, pacing, shared_or_skip
from mocap_fast import Camera
from mocap_fast.reference.camera import project, to_camera_frame
from mocap_fast.rig import canonical_transform, locate, person_area, rig_for, virtual_rig, window_rigs

DATA = SHARED_DATA / "mocap30"


@given(st.floats(-60, 10), st.floats(-10, 10), st.floats(-180, 180), st.floats(0.3, 4), st.floats(-20, 20), st.floats(-20, 20))
def test_canonical_frame_puts_camera_above_origin_looking_down_minus_z(pitch, roll, yaw, h, x, z):
    cam = Camera.from_ground(900, 900, 640, 360, (1280, 720), height=h, pitch_deg=pitch, roll_deg=roll, yaw_deg=yaw, position_xz=(x, z))
    M = canonical_transform(cam.T_w2c)
    T0 = cam.T_w2c @ torch.linalg.inv(M)
    want = Camera.from_ground(900, 900, 640, 360, (1280, 720), height=h, pitch_deg=pitch, roll_deg=roll)
    torch.testing.assert_close(T0, want.T_w2c, atol=1e-9, rtol=0)
    assert abs(float(M[1, 3])) < 1e-12 and torch.allclose(M[1, :3], torch.tensor([0.0, 1, 0], dtype=torch.float64))


def val_clips():
    shared_or_skip(DATA / "index.json")
    idx = json.loads((DATA / "index.json").read_text())
    return {c["file"]: np.load(DATA / c["file"]) for c in idx["clips"] if c["split"] == "val"}


def test_subject_in_view_of_every_virtual_camera():
    from mocap_fast.evaluation import make_cases

    cases = make_cases(val_clips(), seed=3, max_frames=150, cameras_per_clip=2)
    assert len(cases) == 30
    worst = 1.0
    for case in cases:
        kp = torch.as_tensor(case.keypoints)[None]
        M, K, Tw, size = rig_for(kp, torch.ones(kp.shape[:-1], dtype=torch.float64), case.camera)
        X = torch.as_tensor(case.joints) @ M[:3, :3].T + M[:3, 3]
        pts = X.reshape(1, 1, -1, 3).expand(1, 4, -1, 3)
        uv = project(pts, K, Tw)[0]
        depth = to_camera_frame(pts, Tw)[0, ..., 2]
        assert (depth > 0.5).all()
        inside = (uv >= 0).all(-1) & (uv[..., 0] <= size[0, :, None, 0]) & (uv[..., 1] <= size[0, :, None, 1])
        worst = min(worst, float(inside[1:].double().mean(-1).min()))
    assert worst > 0.99, worst


def test_rig_rejects_camera_without_ground():
    cam = Camera.from_ground(800, 800, 640, 360, (1280, 720), height=1.0, pitch_deg=60)
    kp = torch.full((1, 10, 22, 2), 300.0, dtype=torch.float64)
    with pytest.raises(ValueError, match="^cam"):
        rig_for(kp, torch.ones(1, 10, 22, dtype=torch.float64), cam)


@given(st.integers(0, 2**31 - 1))
def test_window_rigs_batched_equals_one_person_area_per_row(seed):
    """One batched ``person_area`` over the rows gives every row's rig as computing each row alone
    (its window's positions, or its whole clip's where the window has none valid) to 1e-12: windows
    of several lengths, empty ones, and clips with invalid stretches."""
    gen = torch.Generator().manual_seed(seed)
    B, T = 2, 90
    kp = torch.as_tensor(np.stack([pacing(T), pacing(T)[::-1].copy()]))
    loc = locate(kp, torch.ones(B, T, 22, dtype=torch.float64), CAM)
    loc.pos = loc.pos + 0.3 * torch.randn(loc.pos.shape, generator=gen, dtype=torch.float64)
    loc.valid = torch.rand(B, T, generator=gen) > 0.3
    loc.valid[0, 10:40] = False  # a window of clip 0 with no valid position: falls back to the clip
    starts = torch.randint(0, T - 1, (12,), generator=gen).tolist()
    rows = [(i % B, s, min(T, s + 1 + int(torch.randint(0, 64, (1,), generator=gen)))) for i, s in enumerate(starts)]
    rows += [(0, 12, 38), (1, 5, 5), (1, 0, T)]
    centres, radii = [], []
    for b, s, e in rows:
        p, v = loc.pos[b, s:e], loc.valid[b, s:e]
        if not bool(v.any()):
            p, v = loc.pos[b], loc.valid[b]
        c, r = person_area(p[None], v[None])
        centres.append(c[0]), radii.append(r[0])
    b = torch.tensor([r[0] for r in rows])
    want = virtual_rig(loc.K0[b], loc.T0[b], loc.size0[b], torch.stack(centres), torch.stack(radii))
    got = window_rigs(loc, rows)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        torch.testing.assert_close(g, w, atol=1e-12, rtol=0)
