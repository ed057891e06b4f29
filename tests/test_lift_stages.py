"""Each stage of ``lift()`` (mocap_fast/lifting.py) on its own: what its docstring promises, with
shapes, units and frames checked, on the ``tiny`` random-weight model where a network is needed.

Ground truth comes from ``helpers.walk`` (world joints, metres) seen by ``helpers.CAM``; the
canonical frame of a clip is ``clip.loc.M`` applied to world points."""

import warnings

import numpy as np
import pytest
import torch

import mocap_fast.footlock as footlock
import mocap_fast.lifting as L
from helpers import CAM, approaching_walk, slid_along_rays, walk
from mocap_fast import Camera
from mocap_fast.reference.camera import normalized_to_pixels, project
from mocap_fast.rig import camera_centre
from mocap_fast.skeleton_fit import BONE_GROUPS, bone_lengths

W, H = CAM.image_size


TURNED = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8, yaw_deg=40, position_xz=(2.0, -1.0))
"""A camera away from the origin and turned: its canonical frame is neither a translation nor the identity."""


def checked(kp, confidence=None, cam=CAM, **opts):
    return L._check_inputs(kp, cam, confidence, L.LiftOptions(**opts))


def walk_in_front(cam, T):
    """``walk(T)`` about 5 m in front of ``cam``, metres."""
    ahead = torch.nn.functional.normalize(cam.R[2, [0, 2]].double(), dim=0)
    centre = cam.centre[[0, 2]].double() + 5.0 * ahead
    return walk(T, offset=(float(centre[0]) - 0.5, float(centre[1])))


def clip_of(T=24, model=None, cam=CAM, X=None):
    """``(clip, X_world [T, 22, 3], X_canonical [1, T, 22, 3])`` of ``X`` (default ``walk(T)``) seen by ``cam``."""
    if X is None:
        X = walk(T) if cam is CAM else walk_in_front(cam, T)
    kp, conf, _, _ = L._to_model_rate(checked(cam.project(X), cam=cam))
    clip = L._prepare_clip(kp, conf, cam, model)
    M = clip.loc.M
    return clip, X, (torch.from_numpy(X) @ M[:3, :3].T + M[:3, 3])[None]


def pixels_in_view0(X, clip):
    return project(X.reshape(X.shape[0], -1, 3), clip.K[:, 0], clip.Tw[:, 0]).reshape(*X.shape[:-1], 2)


# ----------------------------------------------------------------------------------------- _check_inputs
def test_check_inputs_batches_float64_cpu_pixels_and_marks_missing():
    kp = torch.tensor(CAM.project(walk()), dtype=torch.float32)
    kp[3, 5] = float("nan")
    conf = torch.ones(24, 22)
    conf[7, 2] = float("nan")
    inp = checked(kp, conf)
    assert not inp.batched and inp.fps == 30.0 and isinstance(inp.fps, float)
    assert inp.kp.shape == (1, 24, 22, 2) and inp.kp.dtype == torch.float64 and inp.kp.device.type == "cpu"
    assert inp.conf.shape == (1, 24, 22) and inp.conf.dtype == torch.float64
    assert inp.conf[0, 3, 5] == 0 and inp.conf[0, 7, 2] == 0 and inp.conf.sum() == 24 * 22 - 2
    assert torch.isfinite(inp.kp).all()  # missing joints hold a finite placeholder
    torch.testing.assert_close(inp.kp[0, 4], kp[4].double())  # observed pixels pass unchanged
    assert inp.fmt.name == "smpl22" and inp.findings == [None]
    assert checked(np.stack([kp.numpy()] * 2)).batched


def test_check_inputs_scales_normalised_keypoints_and_drops_far_outside_joints():
    kp = CAM.project(walk())
    inp = checked(kp / np.array([W, H]), normalized=True)
    np.testing.assert_allclose(inp.kp[0].numpy(), kp, rtol=0, atol=1e-9)
    far = kp.copy()
    far[2, 9] = (3.0 * W, 100.0)  # more than OUTSIDE_MARGIN image widths to the right
    with pytest.warns(RuntimeWarning, match="1 observed joint"):
        inp = checked(far)
    assert inp.conf[0, 2, 9] == 0 and inp.conf.sum() == 24 * 22 - 1


# ---------------------------------------------------------------------------------------- _to_model_rate
def test_to_model_rate_keeps_30_fps_and_resamples_other_rates_to_it():
    kp = CAM.project(walk(12))
    same = L._to_model_rate(checked(kp))
    for a in same[2:]:
        assert a.dtype == torch.float64
    torch.testing.assert_close(same[0], same[2], rtol=0, atol=0)
    torch.testing.assert_close(same[0][0], torch.from_numpy(kp), rtol=0, atol=0)
    conf = np.ones(kp.shape[:-1])
    conf[4, 7] = 0
    k30, c30, k_in, c_in = L._to_model_rate(checked(kp, conf, fps=15.0))
    assert k30.shape == (1, 23, 22, 2) and c30.shape == (1, 23, 22)  # 11 intervals of 1/15 s -> 22 of 1/30 s
    assert k_in.shape == (1, 12, 22, 2) and c_in.shape == (1, 12, 22)  # the input rate, SMPL-22
    seen = c_in[0] > 0
    torch.testing.assert_close(k_in[0][seen], torch.from_numpy(kp)[seen], rtol=0, atol=0)  # pixels
    torch.testing.assert_close(k30[0, ::2], k_in[0], rtol=0, atol=1e-9)  # every input frame, then midpoints
    torch.testing.assert_close(k30[0, 1::2], (k_in[0, :-1] + k_in[0, 1:]) / 2, rtol=0, atol=1e-9)
    assert (c30[0, 7:10, 7] == 0).all()  # times in (3/15 s, 5/15 s): a neighbour is the missing frame 4
    assert (c30[0, :7, 7] == 1).all() and (c30[0, 10:, 7] == 1).all()  # frame 6 is input frame 3 itself
    assert c_in[0, 4, 7] == 0


def test_to_model_rate_maps_coco_to_smpl22():
    from mocap_fast.joints import from_smpl22

    coco = CAM.project(from_smpl22(walk(), "coco17"))
    kp, conf, kp_in, conf_in = L._to_model_rate(checked(coco, joint_format="coco17"))
    assert kp.shape == (1, 24, 22, 2) and conf.shape == (1, 24, 22)
    assert (conf.amax((0, 1)) > 0).sum() < 22  # COCO lacks some SMPL-22 joints (spine): marked missing
    torch.testing.assert_close(kp, kp_in, rtol=0, atol=0)


# ----------------------------------------------------------------------------------------- _prepare_clip
def test_prepare_clip_view0_is_the_input_camera_in_a_canonical_frame(tiny):
    clip, X, Xc = clip_of(model=tiny, cam=TURNED)
    assert clip.K.shape == (1, 4, 3, 3) and clip.Tw.shape == (1, 4, 4, 4) and clip.size.shape == (1, 4, 2)
    torch.testing.assert_close(clip.K[0, 0], TURNED.K.double())
    assert clip.size[0, 0].tolist() == [W, H]
    torch.testing.assert_close(clip.Tw[0, 0] @ clip.loc.M, TURNED.T_w2c.double(), rtol=0, atol=1e-12)
    torch.testing.assert_close(clip.centre0, camera_centre(clip.Tw[:, 0]))
    assert abs(float(clip.centre0[0, 0])) < 1e-12 and abs(float(clip.centre0[0, 2])) < 1e-12  # above the origin
    assert abs(float(clip.centre0[0, 1]) - 1.5) < 1e-12  # the camera's height, metres
    torch.testing.assert_close(pixels_in_view0(Xc, clip), clip.kp, rtol=0, atol=1e-6)  # pixels
    g_pix = normalized_to_pixels(clip.g_obs.reshape(1, -1, 2), clip.size[:, 0]).reshape(clip.kp.shape)
    torch.testing.assert_close(g_pix, clip.kp, rtol=0, atol=1e-6)  # the observed view, canvas-normalised
    depth = Xc.reshape(1, 1, -1, 3) @ clip.Tw[:, :, :3, :3].transpose(-1, -2) + clip.Tw[:, :, None, :3, 3]
    assert (depth[..., 2] > 1.0).all()  # every view, the input one included, has the person in front


# ------------------------------------------------------------------------------------------ _sample_clip
def test_sample_clip_shapes_and_independent_of_max_batch_windows(tiny):
    clip, _, _ = clip_of(T=40, model=tiny)  # 4 windows of tiny's 16 frames
    X, failed = L._sample_clip(clip, tiny, L.LiftOptions(), 2, torch.device("cpu"), True)
    assert X.shape == (1, 40, 22, 3) and X.dtype == torch.float64 and torch.isfinite(X).all()
    assert failed.shape == (1, 40, 22) and failed.dtype == torch.bool and not failed.any()
    one, _ = L._sample_clip(clip, tiny, L.LiftOptions(max_batch_windows=1), 2, torch.device("cpu"), True)
    torch.testing.assert_close(one, X, rtol=0, atol=1e-5)  # metres: float32 network rounding


def test_sample_clip_flags_joints_no_window_gave(tiny, monkeypatch):
    """A joint every window returns non-finite is ``failed`` everywhere and zero in ``X``; the
    others are neither."""
    clip, _, Xc = clip_of(T=40, model=tiny)

    def stub(model, problem, steps, seeds, backend, progress=None):
        n, w = problem.observed.shape[:2]
        out = Xc[0, :w].float().expand(n, w, 22, 3).clone()
        out[..., 5, :] = float("nan")
        return out

    monkeypatch.setattr(L, "sample_fast", stub)
    X, failed = L._sample_clip(clip, tiny, L.LiftOptions(anchor=False), 1, torch.device("cpu"), True)
    assert failed[..., 5].all() and not failed[..., :5].any() and not failed[..., 6:].any()
    assert (X[..., 5, :] == 0).all() and torch.isfinite(X).all()


# ---------------------------------------------------------------------------------------- _repair_failed
def test_repair_failed_without_failures_returns_x_silently(tiny):
    clip, _, Xc = clip_of(model=tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert L._repair_failed(Xc, torch.zeros(1, 24, 22, dtype=torch.bool), clip) is Xc


def test_repair_failed_interpolates_in_time_and_puts_never_good_joints_on_their_rays(tiny):
    clip, _, Xc = clip_of(model=tiny)
    X = Xc.clone()
    failed = torch.zeros(1, 24, 22, dtype=torch.bool)
    failed[0, 5:9, 3] = True  # spine1 moves at constant velocity: linear interpolation is exact
    failed[0, :, 15] = True  # the head: never good
    X[failed] = 1e6
    with pytest.warns(RuntimeWarning, match=f"{4 + 24} of {24 * 22} output joints"):
        out = L._repair_failed(X, failed, clip)
    torch.testing.assert_close(out[~failed], Xc[~failed], rtol=0, atol=0)
    torch.testing.assert_close(out[0, 5:9, 3], Xc[0, 5:9, 3], rtol=0, atol=1e-9)  # metres
    torch.testing.assert_close(pixels_in_view0(out, clip)[0, :, 15], clip.kp[0, :, 15], rtol=0, atol=1e-6)  # on its ray
    dist = (out[0] - clip.centre0[0]).norm(dim=-1)  # [T, 22] metres from the camera
    good = ~failed[0]
    want = (dist * good).sum(-1) / good.sum(-1)  # the frame's mean distance over its good joints
    torch.testing.assert_close(dist[:, 15], want, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------------------ _post_filter
def test_post_filter_off_is_identity_and_smooth_is_the_gaussian(tiny):
    clip, _, Xc = clip_of(model=tiny)
    X = Xc + 0.01 * torch.randn(Xc.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(L._post_filter(X, clip, False, 0.0), X, rtol=0, atol=0)
    torch.testing.assert_close(L._post_filter(X, clip, False, 2.0), L._gaussian_in_time(X, 2.0), rtol=0, atol=0)


def test_post_filter_anchor_fixes_depth_and_keeps_the_observed_view(tiny):
    """Too far along the camera rays (scaled 1.3 about the camera: feet under the ground), the
    anchors bring the motion back towards the truth without moving it in the input image."""
    clip, _, Xc = clip_of(model=tiny)
    c = clip.centre0[:, None, None]
    far = c + 1.3 * (Xc - c)
    out = L._post_filter(far, clip, True, 0.0)
    torch.testing.assert_close(pixels_in_view0(out, clip), pixels_in_view0(far, clip), rtol=0, atol=1e-6)  # pixels
    before = (far - Xc).norm(dim=-1).mean()
    after = (out - Xc).norm(dim=-1).mean()
    assert after < 0.25 * before, (float(before), float(after))
    assert abs(float(out[..., [7, 8, 10, 11], 1].amin())) < 0.1  # metres: the feet back on the ground


# ------------------------------------------------------------------------------------------------ _to_world
def test_to_world_undoes_the_canonical_frame_and_projects_every_view(tiny):
    clip, X, Xc = clip_of(model=tiny, cam=TURNED)
    kp22, conf22 = clip.kp, clip.conf
    Xw, Xcam, views, cams = L._to_world(Xc, clip, False, 30.0, L.LiftOptions(skeleton="free"), kp22, conf22)
    assert Xw.shape == Xcam.shape == (1, 24, 22, 3) and views.shape == (1, 4, 24, 22, 2)
    assert len(cams) == 1 and len(cams[0]) == 4
    np.testing.assert_allclose(Xw[0].numpy(), X, rtol=0, atol=1e-9)  # metres, the user's world
    np.testing.assert_allclose(Xcam[0].numpy(), TURNED.to_camera(X), rtol=0, atol=1e-9)
    torch.testing.assert_close(cams[0][0].T_w2c, TURNED.T_w2c.double(), rtol=0, atol=1e-12)
    for v in range(4):
        torch.testing.assert_close(views[0, v], cams[0][v].project(Xw[0]), rtol=0, atol=1e-6)  # pixels


def test_to_world_clip_skeleton_has_constant_symmetric_bones(tiny):
    clip, _, Xc = clip_of(model=tiny)
    noisy = Xc + 0.02 * torch.randn(Xc.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    Xw, _, _, _ = L._to_world(noisy, clip, False, 30.0, L.LiftOptions(skeleton="clip"), clip.kp, clip.conf)
    lengths = bone_lengths(Xw[0])  # [T, 21] metres
    assert float(lengths.std(0).max()) < 1e-6  # one length per bone over the clip
    group = torch.tensor(BONE_GROUPS)
    for g in range(int(group.max()) + 1):  # left and right twins alike
        assert float(lengths[0, group == g].max() - lengths[0, group == g].min()) < 1e-6
    free, _, _, _ = L._to_world(noisy, clip, False, 30.0, L.LiftOptions(skeleton="free"), clip.kp, clip.conf)
    assert float(bone_lengths(free[0]).std(0).max()) > 1e-3  # without the fit they vary


def test_to_world_foot_lock_after_the_clip_skeleton_pins_contacts_and_keeps_bones(tiny):
    X = approaching_walk()
    clip, _, _ = clip_of(model=tiny, X=X)
    M = clip.loc.M
    slid = torch.from_numpy(slid_along_rays(X, CAM)) @ M[:3, :3].T + M[:3, 3]  # canonical, feet sliding along rays
    Xw, _, _, cams = L._to_world(slid[None], clip, True, 30.0, L.LiftOptions(skeleton="clip"), clip.kp, clip.conf)
    lengths = bone_lengths(Xw[0])
    assert float(lengths.std(0).max()) < 1e-6  # the lock keeps the fitted skeleton's bone lengths
    fitted, _, _, _ = L._to_world(slid[None], clip, False, 30.0, L.LiftOptions(skeleton="clip"), clip.kp, clip.conf)
    locked, C = footlock.foot_lock(fitted[0], 30.0, keypoints=clip.kp[0], camera=cams[0][0], confidence=clip.conf[0])
    torch.testing.assert_close(Xw[0], locked, rtol=0, atol=1e-9)  # the lock is the last stage
    assert int(C.sum()) > 100
    step = lambda Z, k, j: (Z[1:, j] - Z[:-1, j]).norm(dim=-1)[C[1:, k] & C[:-1, k]].median()  # noqa: E731
    for k, j in enumerate(footlock.FOOT_JOINTS):  # metres per frame inside contacts: the slide is gone
        assert float(step(Xw[0], k, j)) < 0.2 * float(step(fitted[0], k, j))


# --------------------------------------------------------------------------------------------- _plausibility
def test_plausibility_is_quiet_for_a_person_and_names_each_bad_clip():
    X = torch.from_numpy(walk())[None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert L._plausibility(X, [None]) == [[]]
    giant = torch.cat([X, 3 * X])  # clip 1: a 5 m person whose feet are ~0.2 m up
    with pytest.warns(RuntimeWarning, match="clip 1: implausible output: implied body height"):
        out = L._plausibility(giant, [None, None])
    assert out[0] == [] and len(out[1]) == 1 and out[1][0].startswith("clip 1: ")
    with pytest.warns(RuntimeWarning, match="^implausible output: 80% of the observed keypoints"):
        one = L._plausibility(X, ["80% of the observed keypoints lie outside"])
    assert len(one[0]) == 1 and "clip" not in one[0][0]


# ---------------------------------------------------------------------------------- model, device, sampler
def test_sampler_device_and_model_resolution(tiny):
    S = tiny.cfg.diffusion_steps
    assert L._sampler_of(1, tiny) == ("ddim", 1) and L._sampler_of(S - 1, tiny) == ("ddim", S - 1)
    assert L._sampler_of(S, tiny) == ("ddpm", S) and L._sampler_of(10 * S, tiny) == ("ddpm", S)
    assert L._resolve_device(None, np.zeros(3)) == torch.device("cpu")
    assert L._resolve_device(None, torch.zeros(3)) == torch.device("cpu")
    assert L._resolve_device("cpu", None) == torch.device("cpu")
    with pytest.raises(ValueError, match="^device"):
        L._resolve_device("not-a-device", None)
    assert L._resolve_model(tiny, torch.device("cpu")) is tiny
    with pytest.raises(ValueError, match="^model"):
        L._resolve_model(3, torch.device("cpu"))
