"""Clusters: a sweep through submitit's local launcher, the SLURM launcher's shape mapped onto
the trainer, and SLURM's pre-emption signal: checkpoint, requeue, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import torch
from hydra import compose, initialize_config_dir

from gans.cluster import apply_slurm_shape
from gans.train import CONF_DIR
from tests.conftest import ROOT, TINY, run_train
from tests.test_interrupt import ENDLESS, wait_for


def test_a_sweep_runs_its_jobs_through_submitit_locally(tmp_path):
    result = run_train(
        "-m", "hydra/launcher=submitit_local", "seed=0,1", *TINY, "iterations=2", "logger=none",
        f"hydra.sweep.dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.parent.name for p in tmp_path.glob("*/summary.json")) == ["0", "1"]
    assert all((tmp_path / job / "checkpoints" / "last.ckpt").is_file() for job in "01")


def test_the_slurm_launchers_shape_becomes_the_trainers():
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=["hydra/launcher=slurm", "hydra.launcher.nodes=2",
                       "hydra.launcher.gpus_per_node=4", "hydra.launcher.tasks_per_node=4"],
            return_hydra_config=True,
        )  # fmt: skip
    assert apply_slurm_shape(cfg, cfg.hydra.launcher)
    trainer = cfg.trainer
    assert (trainer.num_nodes, trainer.devices, trainer.accelerator) == (2, 4, "gpu")
    assert trainer.strategy == "ddp_find_unused_parameters_true"
    assert not apply_slurm_shape(cfg, None)


def test_sigusr2_checkpoints_hands_over_to_the_requeue_and_the_requeued_job_resumes(tmp_path):
    run = tmp_path / "run"
    overrides = [*ENDLESS, "sample_every=1", f"paths.run_dir={run}"]
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    job = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "requeue_job.py"), *overrides],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for(run / "samples" / "iter_000003.png", job)
    job.send_signal(signal.SIGUSR2)
    _, stderr = job.communicate(timeout=120)
    assert job.returncode == 255, stderr  # submitit's handler ran: sys.exit(-1)
    assert (run / "requeued").read_text() == str(int(signal.SIGUSR2))
    stopped = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert stopped >= 3
    requeued = subprocess.run(
        [sys.executable, "-m", "gans.train", *overrides, f"iterations={stopped + 2}",
         f"hydra.run.dir={tmp_path / 'elsewhere'}"],
        cwd=ROOT, env={**env, "SLURM_RESTART_COUNT": "1"}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert requeued.returncode == 0, requeued.stderr
    assert f"(iterations {stopped}-{stopped + 2}: resumed)" in requeued.stdout
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == (
        stopped + 2
    )
