"""What an independent check found (issue 23): evaluation that moved the training stream, a
divergence that reached the FID's linear algebra, a bad sweep value that ended the sweep, a fork
that continued its parent's W&B run, stale temporary files and false resume warnings."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import torch

from gans.checkpoint_io import remove_stale_temporaries
from gans.errors import TrainingDiverged
from gans.metrics.suite import MetricSuite
from gans.train import train
from tests import layouts
from tests.conftest import TINY, compose_config, run_train
from tests.test_metrics import METRIC_RUN
from tests.test_resume import assert_same_state
from tests.test_sweeps import TINY_RING

QUIET = [o for o in TINY if not o.startswith(("metrics", "sample_every"))]


def test_metrics_grids_and_health_checks_leave_the_trained_weights_unchanged(tmp_path):
    """Turning evaluation on (classifier training, reference set-up, KID/IS subsets), sample
    grids and the health monitor must not move the training random stream."""
    bare = [*QUIET, "iterations=4", "logger=none", "metrics=none", "sample_every=0",
            "health.enabled=false", f"paths.run_dir={tmp_path / 'bare'}"]  # fmt: skip
    watched = [*QUIET, *METRIC_RUN, "iterations=4", "logger=none", "sample_every=1",
               "health.every=1", f"metrics.cache_dir={tmp_path / 'cache'}",
               f"paths.run_dir={tmp_path / 'watched'}"]  # fmt: skip
    train(compose_config(bare))
    summary = train(compose_config(watched))
    assert "fid" in summary["metrics"]
    assert_same_state(
        torch.load(tmp_path / "bare" / "checkpoints" / "last.ckpt", weights_only=True),
        torch.load(tmp_path / "watched" / "checkpoints" / "last.ckpt", weights_only=True),
    )


def test_the_run_that_decodes_a_dataset_trains_as_the_runs_that_read_its_cache(tmp_path):
    """Decoding an image folder into its cache ran a DataLoader whose iterator drew its seed
    from the global random stream: the first run on a dataset differed from every later one."""
    layouts.png_folder(tmp_path / "images", {"a": 20, "b": 12}, size=16)
    base = [*QUIET, "iterations=3", "logger=none", "metrics=none", "sample_every=0",
            "data=image_folder", f"data.root={tmp_path / 'images'}", "data.channels=1"]  # fmt: skip
    for run in ("decodes", "reads_cache"):
        train(compose_config([*base, f"paths.run_dir={tmp_path / run}"]))
    assert list((tmp_path / "images" / ".gans-cache").glob("*.pt"))
    assert_same_state(
        torch.load(tmp_path / "decodes" / "checkpoints" / "last.ckpt", weights_only=True),
        torch.load(tmp_path / "reads_cache" / "checkpoints" / "last.ckpt", weights_only=True),
    )


def test_a_divergence_shorter_than_the_check_interval_stops_before_the_end_of_run_fid(tmp_path):
    """lr=1e13 for 20 iterations with the finite check every 25: the end-of-run grid and FID
    would see NaN samples (and MKL's matrix square root crashed the process); the check before
    them stops the run with the one-line error and exit status 3."""
    result = run_train(
        *[o for o in QUIET if not o.startswith("log_every")], *METRIC_RUN, "iterations=20",
        "log_every=25", "optimizer.lr=1e13", "checkpoint_every=0", "sample_every=0",
        "metrics.every=100", f"metrics.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-2000:]
    assert "error: training diverged" in result.stderr
    assert not list((tmp_path / "samples").glob("*.png"))
    assert not (tmp_path / "checkpoints" / "last.ckpt").exists()


def test_metrics_refuse_nonfinite_features():
    suite = MetricSuite(8, ("fid", "kid"), kid_subset_size=4)
    suite.set_reference(torch.randn(16, 8))
    bad = torch.randn(16, 8)
    bad[3, 2] = float("nan")
    with pytest.raises(TrainingDiverged, match="NaN or Inf"):
        suite.update(bad, torch.randn(16, 10))


def test_a_bad_value_fails_its_sweep_job_alone_and_is_summarised(tmp_path):
    """The other jobs run to the end; the sweep then lists the failure and exits with the failed
    job's status (2: a refused setting), so a script or CI running it can tell."""
    sweep = tmp_path / "sweep"
    result = run_train(
        "-m", *TINY_RING, "metrics.every=0", "optimizer.lr=5e-4,-1,4e-4", f"hydra.sweep.dir={sweep}"
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert (sweep / "0" / "summary.json").is_file() and (sweep / "2" / "summary.json").is_file()
    failed = json.loads((sweep / "1" / "failed.json").read_text())
    assert "optimizer.lr=-1" in failed["overrides"] and "must be a number > 0" in failed["error"]
    assert "1 job(s) of the sweep" in result.stderr and "optimizer.lr=-1" in result.stderr
    (run,) = (sweep / "1").glob("wandb/offline-run-*")  # its own W&B run, marked failed
    assert b"must be a number > 0" in next(run.glob("*.wandb")).read_bytes()


def test_a_fork_into_a_new_run_dir_is_a_new_wandb_run_that_names_its_parent(tmp_path):
    parent, fork = tmp_path / "parent", tmp_path / "fork"
    train(compose_config([*QUIET, "iterations=2", f"paths.run_dir={parent}"]))
    last = parent / "checkpoints" / "last.ckpt"
    parent_id = torch.load(last, weights_only=True)["gans"]["wandb_run_id"]
    train(compose_config([*QUIET, "iterations=3", f"paths.run_dir={fork}", f"ckpt_path={last}"]))
    forked = torch.load(fork / "checkpoints" / "last.ckpt", weights_only=True)["gans"]
    assert forked["wandb_run_id"] != parent_id
    (run,) = fork.glob("wandb/offline-run-*")
    assert parent_id.encode() in next(run.glob("*.wandb")).read_bytes()  # forked_from
    # continuing in the parent's own folder stays the parent's run
    train(compose_config([*QUIET, "iterations=3", f"paths.run_dir={parent}", f"ckpt_path={last}"]))
    assert torch.load(last, weights_only=True)["gans"]["wandb_run_id"] == parent_id


def test_a_relative_ckpt_path_gives_no_false_settings_warning(tmp_path, caplog, monkeypatch):
    run = tmp_path / "outputs" / "run"
    train(compose_config([*QUIET, "iterations=2", "logger=csv", f"paths.run_dir={run}"]))
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING):
        train(
            compose_config(
                [*QUIET, "iterations=3", "logger=csv", "paths.run_dir=outputs/run",
                 "ckpt_path=outputs/run/checkpoints/last.ckpt"]
            )
        )  # fmt: skip
    assert not [r for r in caplog.records if "settings differ" in r.getMessage()]


def test_a_killed_writers_temporary_file_is_removed_at_the_next_start(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    dead = folder / ".last.ckpt.tmp-999999999"  # no such process
    dead.write_bytes(b"")
    alive = folder / f".last.ckpt.tmp-{os.getppid()}"  # a running writer's file is kept
    alive.write_bytes(b"")
    assert remove_stale_temporaries(folder) == [dead]
    assert not dead.exists() and alive.exists()
    Path(alive).unlink()
