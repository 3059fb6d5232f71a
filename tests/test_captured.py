"""The captured iteration (``cuda_graphs=true``): refused in one line where it cannot run, and on a
GPU the same training as the eager iteration."""

from __future__ import annotations

import pytest
import torch

from gans import captured
from gans.errors import ConfigError
from gans.train import build_model, train
from tests.conftest import compose_config, one_line, run_train

GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="a CUDA GPU")


def test_a_cpu_run_refuses_in_one_line():
    result = run_train(
        "data=digits", "iterations=2", "logger=none", "metrics=none", "cuda_graphs=true",
        "trainer.accelerator=cpu",
    )  # fmt: skip
    line = one_line(result, 2, "cuda_graphs=true cannot run model=dcgan")
    assert line.endswith("it replays CUDA graphs, and trainer.accelerator=cpu trains on the CPU")


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["model=wgan_gp"], "model.n_critic=5"),
        (["model=wgan_gp", "model.n_critic=1"], "regularizer.gradient_penalty differentiates"),
        (["regularizer=drift", "regularizer.drift.every=4"], "every=4"),
        (["augment=ada"], "augment (ADA)"),
        (["model=progan"], "ProGAN grows its networks"),
        (["model=vae"], "VAEGame has no captured iteration"),
        (["trainer.precision=16-mixed"], "fp16 loss scaling"),
        (["optimizer.schedule.generator={kind:linear,start:0,length:10}"], "changes the learning"),
        (["compile=true"], "choose one"),
    ],
)
def test_what_cannot_be_recorded_is_named(monkeypatch, overrides, said):
    monkeypatch.setattr(captured, "cuda_present", lambda: True)  # the game-level reasons
    cfg = compose_config(
        ["data=digits", "paths.run_dir=unused", *overrides, "cuda_graphs=true",
         "trainer.accelerator=gpu"]
    )  # fmt: skip
    with pytest.raises(ConfigError, match="cuda_graphs=true cannot run") as info:
        build_model(cfg)
    assert said in str(info.value)
    assert "\n" not in str(info.value)


def test_what_can_be_recorded_passes(tiny_config, monkeypatch):
    monkeypatch.setattr(captured, "cuda_present", lambda: True)
    for model in ("dcgan", "cdcgan", "acgan", "lsgan"):
        game = build_model(tiny_config(f"model={model}", "cuda_graphs=true"))
        assert game.captured is not None, model


def _weights(result_dir) -> dict[str, torch.Tensor]:
    state = torch.load(result_dir / "checkpoints" / "last.ckpt", map_location="cpu",
                       weights_only=True)  # fmt: skip
    return state["state_dict"]


@GPU
@pytest.mark.parametrize("model", ["dcgan", "acgan"])
def test_captured_training_equals_eager_on_a_gpu(tiny_config, tmp_path, model):
    runs = {}
    for mode in ("false", "true"):
        out = tmp_path / mode
        cfg = tiny_config(f"model={model}", "iterations=12", "logger=none",
                          f"cuda_graphs={mode}", "checkpoint_every=12", run_dir=out)  # fmt: skip
        summary = train(cfg)
        runs[mode] = (_weights(out), summary)
    (eager, eager_summary), (graphs, graphs_summary) = runs["false"], runs["true"]
    assert graphs_summary["iterations"] == eager_summary["iterations"] == 12
    assert list(graphs) == list(eager)
    for key, value in eager.items():
        if value.is_floating_point():
            torch.testing.assert_close(graphs[key], value, rtol=1e-4, atol=1e-5, msg=key)
        else:
            assert torch.equal(graphs[key], value), key
