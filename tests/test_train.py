"""Training: loss goes down, resume is exact, and the DistributedDataParallel path keeps ranks in step."""

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from helpers import SHARED_DATA, have_shared, walk
from mocap_fast.model.config import TINY
from mocap_fast.train.trainer import Trainer, TrainOptions

DATA = SHARED_DATA / "mocap30"


def three_clips() -> list[np.ndarray]:
    """Three real clips when the shared data is there, else three synthetic walks."""
    index = DATA / "index.json"
    if have_shared(index):
        clips = json.loads(index.read_text())["clips"][:3]
        return [np.load(DATA / c["file"])[:120].astype(np.float64) for c in clips]
    rng = np.random.default_rng(0)
    base = np.zeros((120, 22, 3))
    base[..., 1] = np.linspace(0.05, 1.7, 22)
    base[..., 0] = rng.normal(0, 0.15, 22)
    return [base + np.linspace([0, 0, 0], [1.5 * k, 0, 2], 120)[:, None] for k in range(3)]


def opts(**kw) -> TrainOptions:
    base = dict(stage=2, steps=2, batch_size=4, lr=1e-3, warmup=1, checkpoint_every=1, log_every=1, stats_batches=2)
    base.update(kw)
    return TrainOptions(**base)


def test_loss_finite_and_decreasing_on_a_fixed_batch(tmp_path):
    from mocap_fast.train.sampling import make_batch
    from mocap_fast.train.trainer import stage_batch

    tr = Trainer(TINY, three_clips(), tmp_path, opts(steps=30))
    rng = np.random.default_rng(5)
    x0, cond = stage_batch(make_batch(tr.clips, 8, TINY, tr.stats, rng), 2, tr.stats, rng)

    def fixed_loss() -> float:
        tr.net.eval()
        with torch.no_grad():
            return float(tr.loss_on(x0, cond, torch.Generator().manual_seed(0)))

    before = fixed_loss()
    for _ in range(30):
        tr.net.train()
        tr.opt.zero_grad()
        loss = tr.loss_on(x0, cond, torch.Generator().manual_seed(1))
        loss.backward()
        tr.opt.step()
    after = fixed_loss()
    assert np.isfinite(before) and np.isfinite(after)
    assert after < 0.8 * before


def test_two_step_run_then_resume_gives_identical_weights(tmp_path):
    clips = three_clips()
    full = Trainer(TINY, clips, tmp_path / "full", opts(steps=3))
    full.run(progress=False)
    part = Trainer(TINY, clips, tmp_path / "part", opts(steps=2))
    part.run(progress=False)
    assert part.step == 2
    resumed = Trainer(TINY, clips, tmp_path / "part", opts(steps=3))
    assert resumed.step == 2
    resumed.run(progress=False)
    for (name, a), b in zip(full.net.state_dict().items(), resumed.net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert all(np.isfinite(h["loss"]) for h in full.history)


def test_resume_refuses_another_config(tmp_path):
    clips = three_clips()
    Trainer(TINY, clips, tmp_path, opts(steps=1)).run(progress=False)
    with pytest.raises(ValueError, match="out"):
        Trainer(TINY.replace(width=48), clips, tmp_path, opts(steps=1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        tr = Trainer(TINY, three_clips(), out, opts(steps=2, device="cpu"))
        tr.run(progress=False)
        flat = torch.cat([p.detach().flatten() for p in tr.net.parameters()])
        save_file({"w": flat.contiguous()}, str(Path(out) / f"rank{rank}.safetensors"))
        dist.barrier()  # neither rank tears gloo down while the other still talks to it
    finally:
        dist.destroy_process_group()


def test_ddp_gloo_two_ranks_end_with_identical_weights(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    w0, w1 = (load_file(str(tmp_path / f"rank{r}.safetensors"))["w"] for r in (0, 1))
    torch.testing.assert_close(w0, w1, rtol=0, atol=0)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["step"] == 2 and len(state["rngs"]) == 2
    assert state["rngs"][0] != state["rngs"][1]  # each rank drew its own batches


@pytest.mark.parametrize("fmt", ["smpl22", "coco17", "h36m17"])
def test_training_input_matches_what_lift_sees_per_format(fmt):
    from mocap_fast import Camera
    from mocap_fast.joints import from_smpl22, to_smpl22
    from mocap_fast.train.sampling import observed_keypoints

    X = three_clips()[0][:20].copy()
    X[..., 2] -= 5.0
    cam = Camera.from_ground(1000, 1000, 960, 540, (1920, 1080), height=1.5)
    kp, conf = observed_keypoints(X, cam.K, cam.T_w2c, fmt)
    src = X if fmt == "smpl22" else from_smpl22(X, fmt)
    want_kp, want_conf = to_smpl22(cam.project(src), None, fmt)
    np.testing.assert_allclose(kp, want_kp, atol=1e-9)
    np.testing.assert_array_equal(conf, want_conf)
    assert np.isfinite(kp).all()
    assert (conf == 0).any() == (fmt != "smpl22")


def test_samples_where_a_camera_misses_the_person_are_redrawn():
    """With a wild rig jitter many virtual cameras miss the person; every sample that comes out
    has all joints >= MIN_VIEW_DEPTH in front of every camera and within MAX_CANVAS, and the
    targets stay bounded (they reached 1e11 before the check)."""
    from mocap_fast.reference.camera import project
    from mocap_fast.reference.representation import Standardizer
    from mocap_fast.train.sampling import MAX_CANVAS, MIN_VIEW_DEPTH, Augment, make_batch

    cfg = TINY.replace(use_pointmap=False)
    b = make_batch(three_clips(), 24, cfg, Standardizer.identity(cfg.channels), np.random.default_rng(3),
                   Augment(rig_jitter=4.0))
    B, V = b.K_g.shape[:2]
    assert B == 24 and b.x0.shape[:2] == (24, V) and b.joints.shape[0] == 24
    X = b.joints.double()[:, None].expand(-1, V, -1, -1, -1).reshape(B, V, -1, 3)
    Tw = b.T_w2c.double()
    depth = (X @ Tw[..., :3, :3].transpose(-1, -2) + Tw[..., None, :3, 3])[..., 2]
    assert depth.min() >= MIN_VIEW_DEPTH
    assert project(X, b.K_g.double(), Tw).abs().max() < MAX_CANVAS + 1e-3
    assert torch.isfinite(b.x0).all() and b.x0.abs().max() < 1e3


def test_joint_placement_shift_moves_only_the_placed_joints_rigidly_with_the_body():
    from mocap_fast.train.sampling import PLACED_JOINTS, Augment, body_frames, shift_joint_placement

    X = walk(T=30, yaw=0.7)
    Y = shift_joint_placement(X, np.random.default_rng(4), Augment(placement_std=0.02))
    moved = np.linalg.norm(Y - X, axis=-1).max(0)
    others = [j for j in range(22) if j not in PLACED_JOINTS]
    assert moved[others].max() == 0.0 and moved[list(PLACED_JOINTS)].min() > 1e-4
    local = np.einsum("tij,tkj->tki", body_frames(X), Y - X)  # offsets in the body frame
    np.testing.assert_allclose(local, local[:1].repeat(30, 0), atol=1e-12)  # constant over time
    for a, b in ((1, 2), (13, 14)):  # left/right pairs: mirror images across the body's midplane
        np.testing.assert_allclose(local[0, b], local[0, a] * [-1, 1, 1], atol=1e-12)
    assert 0.005 < np.abs(local[0, list(PLACED_JOINTS)]).mean() < 0.04  # metres, placement_std 0.02
