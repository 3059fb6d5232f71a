"""The speed options train correctly: channels-last, the profiler marks, and compile's limits."""

from __future__ import annotations

import pytest
import torch

from gans.errors import ConfigError
from gans.train import build_model, train


def test_channels_last_players_train_to_the_same_losses(tiny_config, tmp_path):
    base = train(tiny_config("iterations=3", "logger=none", run_dir=tmp_path / "a"))
    cfg = tiny_config("iterations=3", "logger=none", "channels_last=true", run_dir=tmp_path / "b")
    model = build_model(cfg)
    conv = next(m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    fast = train(cfg)
    assert fast["loss/d"] == pytest.approx(base["loss/d"], rel=1e-4, abs=1e-5)
    assert fast["loss/g"] == pytest.approx(base["loss/g"], rel=1e-4, abs=1e-5)


def test_compile_refuses_a_double_backward_regularizer(tiny_config):
    with pytest.raises(ConfigError, match="compile=true cannot run regularizer.gradient_penalty"):
        build_model(tiny_config("model=wgan_gp", "compile=true"))


def test_compile_keeps_state_dict_keys(tiny_config):
    eager = build_model(tiny_config())
    compiled = build_model(tiny_config("compile=true"))
    assert list(compiled.state_dict()) == list(eager.state_dict())


def test_profiler_sees_the_players_steps(tiny_config, tmp_path):
    import lightning as L

    class Keep(L.Callback):
        def on_train_end(self, trainer, *args):
            self.recorded = dict(trainer.profiler.recorded_durations)

    keep = Keep()
    cfg = tiny_config("iterations=3", "logger=none", "model.n_critic=2")
    cfg.trainer.profiler = {
        "_target_": "lightning.pytorch.profilers.SimpleProfiler",
        "dirpath": str(tmp_path),
        "filename": "profile",
    }
    train(cfg, extra_callbacks=[keep])
    assert len(keep.recorded["gans/Dmain"]) == 6
    assert len(keep.recorded["gans/Gmain"]) == 3
