"""Tiny real runs of the whole stack: Hydra config -> Lightning fit -> files on disk."""

import csv
from pathlib import Path

import pytest
import torch

from gans.train import build_model, train
from tests import wandb_records


def adam_steps(ckpt: dict, index: int) -> int:
    """Number of steps optimizer ``index`` took (Adam's per-parameter step count)."""
    state = ckpt["optimizer_states"][index]["state"]
    return int(next(iter(state.values()))["step"])


@pytest.mark.parametrize("model", ["dcgan", "gan"])
def test_two_iteration_fit_writes_checkpoint_grid_and_wandb_files(tiny_config, tmp_path, model):
    cfg = tiny_config(f"model={model}", "iterations=2")
    summary = train(cfg)
    run = tmp_path / "run"
    assert summary["iterations"] == 2
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "checkpoints" / "iter_000002.ckpt").is_file()
    grid = run / "samples" / "iter_000002.png"
    assert grid.is_file() and grid.stat().st_size > 100
    offline = list((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 1
    assert list(offline[0].glob("run-*.wandb")), "W&B offline run file missing"
    assert any("wandb sync" in line for line in summary["loggers"])


def test_wandb_plots_metrics_over_iterations_and_sums_up_fid_by_its_minimum(tiny_config, tmp_path):
    cfg = tiny_config(
        "iterations=4", "metrics=default", "metrics.every=2", "metrics.num_samples=64",
        "metrics.num_reference=128", "metrics.compute=[fid,is]", "metrics.classifier.steps=20",
        f"metrics.cache_dir={tmp_path}/cache", "checkpoint_every=0", "sample_every=0",
    )  # fmt: skip
    train(cfg)
    (log,) = (tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb")
    declared = {m.glob_name: m for m in wandb_records.metrics(log) if m.glob_name}
    assert declared["fid/*"].summary.min and not declared["fid/*"].summary.last
    assert declared["is/*"].summary.max
    assert {m.step_metric for m in declared.values()} == {"trainer/global_step"}
    fids = [
        (row["trainer/global_step"], key)
        for row in wandb_records.history(log)
        for key in row
        if key.startswith("fid/")
    ]
    assert [step for step, _ in fids] == ["2", "4"]  # the iteration, not the optimizer step count


def test_checkpoint_loads_with_weights_only_and_holds_the_plain_config(tiny_config, tmp_path):
    train(tiny_config("iterations=1"))
    ckpt = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    config = ckpt["gans"]["config"]
    assert type(config) is dict and config["model"]["name"] == "dcgan"
    assert ckpt["global_step"] == 1
    model = build_model_from(config)
    model.load_state_dict(ckpt["state_dict"])


def build_model_from(config: dict):
    from omegaconf import OmegaConf

    return build_model(OmegaConf.create(config))


@pytest.mark.parametrize(("n_critic", "n_gen"), [(5, 1), (1, 2), (2, 3)])
def test_n_critic_and_n_gen_give_exact_step_counts(tiny_config, tmp_path, n_critic, n_gen):
    iterations = 3
    cfg = tiny_config(
        f"model.n_critic={n_critic}", f"model.n_gen={n_gen}", f"iterations={iterations}"
    )
    summary = train(cfg)
    ckpt = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    assert summary["iterations"] == iterations == ckpt["global_step"]
    assert adam_steps(ckpt, 0) == n_critic * iterations  # discriminator
    assert adam_steps(ckpt, 1) == n_gen * iterations  # generator


def test_intervals_count_generator_iterations(tiny_config, tmp_path):
    cfg = tiny_config(
        "model.n_critic=3", "iterations=4", "checkpoint_every=2", "sample_every=2", "logger=csv"
    )
    train(cfg)
    run = tmp_path / "run"
    assert sorted(p.name for p in (run / "checkpoints").glob("iter_*.ckpt")) == [
        "iter_000002.ckpt",
        "iter_000004.ckpt",
    ]
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "iter_000002.png",
        "iter_000004.png",
    ]
    with open(run / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows if r.get("loss/d")]
    assert steps == [1, 2, 3, 4]
    assert all(float(r["D(x)"]) <= 1 for r in rows if r.get("D(x)"))


@pytest.mark.parametrize(("first_after", "grids"), [(1e-9, [1, 3]), (0, [3]), (3600, [3])])
def test_a_first_grid_comes_once_after_first_after_seconds(
    tiny_config, tmp_path, first_after, grids
):
    """A slow model shows a grid after ``first_after`` seconds even when ``sample_every`` is
    far away; once, then only every ``sample_every`` and at the end."""
    cfg = tiny_config("iterations=3", "sample_every=0", "logger=none",
                      f"callbacks.samples.first_after={first_after}")  # fmt: skip
    train(cfg)
    found = sorted((tmp_path / "run" / "samples").glob("iter_*.png"))
    assert [int(p.stem.split("_")[1]) for p in found] == grids


def test_resume_continues_the_iteration_count(tiny_config, tmp_path):
    first = tiny_config("iterations=2", "model.n_critic=2", run_dir=tmp_path / "a")
    train(first)
    last = tmp_path / "a/checkpoints/last.ckpt"
    second = tiny_config(
        "iterations=5", "model.n_critic=2", f"ckpt_path={last}", run_dir=tmp_path / "b"
    )
    summary = train(second)
    assert summary["iterations"] == 5
    ckpt = torch.load(tmp_path / "b/checkpoints/last.ckpt", weights_only=True)
    assert adam_steps(ckpt, 0) == 10 and adam_steps(ckpt, 1) == 5
    names = sorted(p.name for p in (tmp_path / "b/checkpoints").glob("iter_*.ckpt"))
    assert names == ["iter_000003.ckpt", "iter_000004.ckpt", "iter_000005.ckpt"]


def test_same_seed_same_weights_on_cpu(tiny_config, tmp_path):
    weights = []
    for name in ("a", "b", "c"):
        seed = 7 if name != "c" else 8
        train(tiny_config("iterations=3", f"seed={seed}", "logger=none", run_dir=tmp_path / name))
        ckpt = torch.load(tmp_path / name / "checkpoints/last.ckpt", weights_only=True)
        weights.append(ckpt["state_dict"]["generator.net.0.weight"])
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], weights[2])


@pytest.mark.parametrize("logger", ["csv", "tensorboard"])
def test_alternative_loggers(tiny_config, tmp_path, logger):
    train(tiny_config("iterations=2", f"logger={logger}"))
    files = list(Path(tmp_path / "run" / logger).rglob("*"))
    assert any(f.is_file() and f.stat().st_size > 0 for f in files)
