import pytest
import torch

from mocap_fast.model.config import PAPER, SMALL, TINY, ModelConfig, get_config
from mocap_fast.model.io import LoadedModel, load_model, save_model
from mocap_fast.model.network import Conditions, MotionDenoiser
from mocap_fast.reference.representation import Standardizer


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_paper_parameter_count():
    # DESIGN §3: about 58.8 M with the pointmap encoder, 37.3 M for the 2D model
    assert 57.5e6 < n_params(MotionDenoiser(PAPER)) < 60e6
    assert 36.5e6 < n_params(MotionDenoiser(PAPER, multiview=False)) < 38e6


def test_small_is_small():
    assert n_params(MotionDenoiser(SMALL)) < 5e6


def random_conditions(cfg: ModelConfig, B=2, V=4, T=9, seed=0):
    gen = torch.Generator().manual_seed(seed)
    from helpers import random_rig
    from mocap_fast.reference.camera import ground_pointmap, normalized_intrinsics

    K, Tw, size = random_rig(gen, V, batch=(B,))
    pm = ground_pointmap(K, Tw, size, cfg.pointmap_res).float()
    obs = torch.randn(B, T, cfg.channels, generator=gen)
    mask = (torch.rand(B, T, cfg.num_joints, generator=gen) > 0.2).float()
    return Conditions(normalized_intrinsics(K, size).float(), Tw.float(), obs, mask, None, pm)


def perturb(net, seed=1):
    """Give every parameter (zero-initialised ones too) random values, so tests see all paths."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return net


def test_multiview_from_2d_reproduces_2d_per_view():
    net2d = perturb(MotionDenoiser(TINY, multiview=False)).eval()
    mv = MotionDenoiser(TINY, multiview=True).eval()
    mv.load_2d_weights(net2d.state_dict())
    cond = random_conditions(TINY)
    x = torch.randn(2, 4, 9, TINY.channels)
    step = torch.tensor([3, 70])
    out = mv(x, step, cond)
    for v in range(4):
        c1 = Conditions(cond.K_g[:, v : v + 1], cond.T_w2c[:, v : v + 1], cond.observed, cond.observed_mask, None, cond.pointmaps[:, v : v + 1])
        torch.testing.assert_close(out[:, v : v + 1], net2d(x[:, v : v + 1], step, c1), atol=1e-5, rtol=1e-5)


def test_cached_pointmap_path_matches_plain_forward():
    net = perturb(MotionDenoiser(TINY)).eval()
    cond = random_conditions(TINY)
    x = torch.randn(2, 4, 9, TINY.channels)
    step = torch.tensor([5, 50])
    cache = net.cross_cache(net.encode_pointmaps(cond.pointmaps))
    torch.testing.assert_close(net(x, step, cond, cache=cache), net(x, step, cond), atol=1e-5, rtol=1e-5)


def test_padding_mask_isolates_padded_frames():
    net = perturb(MotionDenoiser(TINY)).eval()
    cond = random_conditions(TINY, B=1, T=9)
    x = torch.randn(1, 4, 9, TINY.channels)
    cond.frame_mask = torch.tensor([[True] * 6 + [False] * 3])
    a = net(x, torch.tensor([10]), cond)[:, :, :6]
    x2 = x.clone()
    x2[:, :, 6:] = 100.0  # garbage in the padded frames must not change real frames
    cond2 = Conditions(cond.K_g, cond.T_w2c, cond.observed.clone(), cond.observed_mask, cond.frame_mask, cond.pointmaps)
    cond2.observed[:, 6:] = 100.0
    torch.testing.assert_close(net(x2, torch.tensor([10]), cond2)[:, :, :6], a, atol=1e-5, rtol=1e-5)


def test_save_load_round_trip(tmp_path):
    net = perturb(MotionDenoiser(TINY)).eval()
    stats = Standardizer(torch.randn(TINY.channels), torch.rand(TINY.channels) + 0.5)
    path = tmp_path / "m.safetensors"
    save_model(LoadedModel(net, stats, {"name": "t"}), path)
    loaded = load_model(path)
    assert loaded.cfg == TINY and loaded.info == {"name": "t"}
    cond = random_conditions(TINY)
    x = torch.randn(2, 4, 9, TINY.channels)
    step = torch.tensor([1, 2])
    torch.testing.assert_close(loaded.net(x, step, cond), net(x, step, cond))
    torch.testing.assert_close(loaded.stats.mean, stats.mean)


def test_load_rejects_bad_files(tmp_path):
    net = MotionDenoiser(TINY)
    stats = Standardizer.identity(TINY.channels)
    path = tmp_path / "m.safetensors"
    save_model(LoadedModel(net, stats), path)
    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="^model"):
        load_model(tmp_path / "trunc.safetensors")
    with pytest.raises(ValueError, match="^model"):
        load_model(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="^model"):
        load_model(tmp_path / "junk.safetensors")


def test_get_config_unknown():
    assert get_config("small") == SMALL
    with pytest.raises(ValueError, match="^config"):
        get_config("huge")


def test_recommended_sampler_round_trip(tmp_path):
    """set_recommended_sampler writes the metadata lift(steps=None) reads; weights kept; bad values refused."""
    from mocap_fast.model.io import read_metadata, set_recommended_sampler

    net = MotionDenoiser(TINY).eval()
    path = tmp_path / "m.safetensors"
    save_model(LoadedModel(net, Standardizer(torch.zeros(TINY.channels), torch.ones(TINY.channels))), path)
    assert load_model(path).recommended_steps() == ("ddpm", TINY.diffusion_steps)  # no metadata: full schedule
    set_recommended_sampler(path, "ddim", 7)
    m = load_model(path)
    assert m.sampler == ("ddim", 7) and m.recommended_steps() == ("ddim", 7)
    assert read_metadata(path)["steps"] == "7"
    assert all(torch.equal(a, b) for a, b in zip(m.net.state_dict().values(), net.state_dict().values()))
    save_model(m, tmp_path / "copy.safetensors")
    assert load_model(tmp_path / "copy.safetensors").sampler == ("ddim", 7)
    for sampler, steps in (("euler", 5), ("ddim", 0), ("ddim", TINY.diffusion_steps), ("ddpm", 3)):
        with pytest.raises(ValueError, match="sampler|steps"):
            set_recommended_sampler(path, sampler, steps)
    assert m.samples == 1  # absent: one draw per window
    set_recommended_sampler(path, "ddim", 7, samples=3)
    assert load_model(path).samples == 3 and read_metadata(path)["samples"] == "3"
    save_model(load_model(path), tmp_path / "copy3.safetensors")
    assert load_model(tmp_path / "copy3.safetensors").samples == 3
    with pytest.raises(ValueError, match="samples"):
        set_recommended_sampler(path, "ddim", 7, samples=0)
    from mocap_fast.model.io import set_metadata

    set_metadata(path, samples="two")
    with pytest.raises(ValueError, match="samples"):
        load_model(path)


def test_packaged_default_recommends_ddim_2_with_2_samples():
    m = load_model(None)
    assert m.recommended_steps() == ("ddim", 2) and m.samples == 2
