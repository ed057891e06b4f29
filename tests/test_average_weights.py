"""scripts/average_weights.py: the mean of several checkpoints' weights, refused across runs."""

import importlib.util
from pathlib import Path

import pytest
import torch

from helpers import tiny_random_model
from mocap_fast.model.io import load_model, save_model

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_weights.py"


def _script():
    spec = importlib.util.spec_from_file_location("average_weights", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_average_is_the_mean_of_the_weights(tmp_path):
    paths = []
    for k in range(3):
        m = tiny_random_model()
        with torch.no_grad():
            for p in m.net.parameters():
                p.add_(0.1 * k)
        paths.append(str(tmp_path / f"step{k}.safetensors"))
        save_model(m, paths[-1])
    out = tmp_path / "avg.safetensors"
    assert _script().main([str(out)] + paths) == 0
    avg, mid = load_model(out), load_model(paths[1])
    for (name, a), b in zip(avg.net.state_dict().items(), mid.net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)  # mean of +0, +0.1, +0.2 is +0.1
    assert avg.info["averaged"] == paths
    torch.testing.assert_close(avg.stats.mean, mid.stats.mean)


def test_average_refuses_checkpoints_of_another_run(tmp_path, capsys):
    a, b = tiny_random_model(), tiny_random_model()
    b.stats.mean = b.stats.mean + 1.0
    save_model(a, tmp_path / "a.safetensors")
    save_model(b, tmp_path / "b.safetensors")
    assert _script().main([str(tmp_path / "o.safetensors"), str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")]) == 2
    assert "statistics" in capsys.readouterr().err
    assert not (tmp_path / "o.safetensors").exists()
    with pytest.raises(ValueError, match="^checkpoints"):
        _script().average([])
