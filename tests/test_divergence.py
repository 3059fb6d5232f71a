"""NaN/Inf stops training with a message naming the iteration and the player, and no diverged
model is ever written over a good checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gans.errors import TrainingDiverged
from gans.train import train
from tests.conftest import compose_config, run_train

# A critic with a learning rate of 1e8 (and nothing bounding it) overflows at iteration 8.
EXPLODING = [
    "model=gan2d",
    "data=ring",
    "model.generator.hidden=[16]",
    "model.discriminator.hidden=[16]",
    "loss=wasserstein",
    "optimizer.discriminator.lr=1e8",
    "iterations=300",
    "checkpoint_every=1",
    "logger=none",
    "metrics.every=0",
    "sample_every=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def assert_all_finite(path: Path) -> int:
    ckpt = torch.load(path, weights_only=True)
    for name, value in ckpt["state_dict"].items():
        assert torch.isfinite(value.float()).all(), name
    return int(ckpt["global_step"])


@pytest.mark.parametrize("every", [1, 0], ids=["every-iteration", "at-checkpoints-only"])
def test_divergence_stops_naming_iteration_and_player(tmp_path, every):
    cfg = compose_config([*EXPLODING, f"paths.run_dir={tmp_path}", f"check_finite_every={every}"])
    with pytest.raises(TrainingDiverged) as caught:
        train(cfg)
    message = str(caught.value)
    assert "the generator's gradient norm (grad/g) became NaN or Inf at iteration 8" in message
    assert f"Last good checkpoint: {tmp_path}/checkpoints/last.ckpt" in message
    checkpoints = tmp_path / "checkpoints"
    assert not (checkpoints / "iter_000008.ckpt").exists()
    assert (checkpoints / "iter_000007.ckpt").exists()
    assert assert_all_finite(checkpoints / "last.ckpt") == 7
    assert not list(checkpoints.glob(".*.tmp-*"))


def test_the_command_prints_one_line_and_exits_3(tmp_path):
    result = run_train(*EXPLODING, f"hydra.run.dir={tmp_path}")
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "at iteration 8" in errors[0]
    assert "Traceback" not in result.stderr


def test_a_healthy_run_passes_the_check(tmp_path):
    healthy = [o for o in EXPLODING if not o.startswith(("optimizer.", "iterations"))]
    cfg = compose_config([*healthy, "iterations=20", f"paths.run_dir={tmp_path}"])
    assert train(cfg)["iterations"] == 20
