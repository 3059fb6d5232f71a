"""Hydra sweeps: every job its own W&B run in the sweep's group, Optuna minimizing the returned
metric, and multirun + re-launching DDP refused."""

from __future__ import annotations

import json

import pytest
import yaml
from omegaconf import OmegaConf

from gans.errors import ConfigError
from gans.sweeps import objective
from tests.conftest import run_train

TINY_RING = [
    "model=gan2d",
    "data=ring",
    "data.count=1000",
    "model.generator.hidden=[16]",
    "model.discriminator.hidden=[16]",
    "iterations=6",
    "metrics.every=6",
    "metrics.coverage.num_samples=500",
    "sample_every=0",
    "checkpoint_every=0",
    "trainer.enable_progress_bar=false",
]


def test_multirun_makes_one_wandb_run_per_job_grouped_by_the_sweep(tmp_path):
    sweep = tmp_path / "multirun" / "gan2d-ring" / "2026-01-01_00-00-00"
    result = run_train(
        "-m", *TINY_RING, "loss=nonsaturating,hinge", "seed=1,2", f"hydra.sweep.dir={sweep}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    ids = set()
    for job, (loss, seed) in zip(jobs, [("nonsaturating", 1), ("nonsaturating", 2),
                                        ("hinge", 1), ("hinge", 2)], strict=True):  # fmt: skip
        assert json.loads((job / "summary.json").read_text())["iterations"] == 6
        (run,) = job.glob("wandb/offline-run-*")  # one finished run per job
        ids.add(run.name.rsplit("-", 1)[1])
        record = next(run.glob("*.wandb")).read_bytes()
        assert b"gan2d-ring-2026-01-01_00-00-00" in record  # the group
        assert f"loss={loss},".encode() in record and f"seed={seed}".encode() in record
    assert len(ids) == 4


def test_optuna_search_minimizes_the_returned_metric(tmp_path):
    result = run_train(
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=3",
        *TINY_RING,
        "logger=none",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    best = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    scores = [
        json.loads(p.read_text())["metrics"]["reverse_kl"] for p in tmp_path.glob("*/summary.json")
    ]
    assert len(scores) == 3
    assert best["best_value"] == pytest.approx(min(scores))
    assert set(best["best_params"]) == {"optimizer.lr", "optimizer.beta1", "model.n_critic"}


def test_an_optuna_search_in_sqlite_resumes_where_it_stopped(tmp_path):
    """hydra.sweeper.storage=sqlite:///... keeps the study, so a second command adds trials to
    it (Optuna 2, which the sweeper requires, cannot open it with SQLAlchemy 2)."""
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    for part, trials in ((0, 2), (1, 1)):
        result = run_train(
            "hparams_search=optuna",
            f"hydra.sweeper.n_trials={trials}",
            f"hydra.sweeper.storage={storage}",
            "hydra.sweeper.study_name=resumed",
            *TINY_RING,
            "logger=none",
            f"hydra.sweep.dir={tmp_path / f'part{part}'}",
        )
        assert result.returncode == 0, result.stderr[-3000:]
    import optuna

    study = optuna.load_study(study_name="resumed", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    best = yaml.safe_load((tmp_path / "part1" / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(min(t.value for t in study.trials))


def test_random_search_draws_distinct_configurations_from_the_wide_ranges(tmp_path):
    result = run_train(
        "hparams_search=random",
        "hydra.sweeper.n_trials=3",
        *TINY_RING,
        "logger=none",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = []
    for job in sorted(tmp_path.glob("*/summary.json")):
        overrides = yaml.safe_load((job.parent / ".hydra" / "overrides.yaml").read_text())
        params = dict(o.split("=", 1) for o in overrides if not o.startswith(("model=", "data")))
        params = {k: v for k, v in params.items() if k.startswith(("optimizer.", "model.n_"))}
        assert set(params) == {
            "optimizer.lr",
            "optimizer.beta1",
            "optimizer.beta2",
            "model.n_critic",
        }
        assert 1e-5 <= float(params["optimizer.lr"]) <= 1e-2
        assert 0.9 <= float(params["optimizer.beta2"]) <= 0.9999
        assert params["model.n_critic"] in {"1", "2", "3", "4", "5"}
        drawn.append(params["optimizer.lr"])
    assert len(set(drawn)) == 3


def test_multirun_with_relaunching_ddp_is_refused_before_training(tmp_path):
    result = run_train(
        "-m", *TINY_RING, "trainer=ddp_cpu", "seed=1,2", f"hydra.sweep.dir={tmp_path}"
    )
    assert result.returncode == 2
    assert (
        "trainer.strategy=ddp_find_unused_parameters_true cannot run inside a Hydra multirun"
        in (result.stderr)
    )
    assert not list(tmp_path.glob("*/summary.json"))


def test_objective_is_the_chosen_metric():
    cfg = OmegaConf.create({"metrics": {"optimize": "auto"}})
    assert objective({"metrics": {"fid": 3.0, "kid": 0.1}, "loss/g": 9.0}, cfg) == 3.0
    assert objective({"metrics": {"modes": 8, "reverse_kl": 0.2}, "loss/g": 9.0}, cfg) == 0.2
    assert objective({"loss/g": 9.0}, cfg) == 9.0
    cfg.metrics.optimize = "kid"
    assert objective({"metrics": {"fid": 3.0, "kid": 0.1}, "loss/g": 9.0}, cfg) == 0.1
    cfg.metrics.optimize = "precision"
    with pytest.raises(ConfigError, match="metrics.optimize=precision is not one of"):
        objective({"metrics": {"fid": 3.0}, "loss/g": 9.0}, cfg)
