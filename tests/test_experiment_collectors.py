"""The experiment collectors on small fake results folders laid out as the runs write them."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fake_job(folder: Path, overrides: list[str], fid: float | None) -> None:
    """A Hydra job folder: its overrides, and summary.json (fid) or failed.json (None)."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if fid is None:
        (folder / "failed.json").write_text(json.dumps({"error": "diverged"}))
    else:
        (folder / "summary.json").write_text(json.dumps({"metrics": {"fid": fid, "kid": 1.0}}))


def test_created_equal_collector_table_best_and_median(tmp_path: Path) -> None:
    collect = load("experiments/created_equal/collect.py", "created_equal_collect")
    runs = tmp_path / "runs"
    search = runs / "wgan" / "search"
    # two parts (a resumed search), one diverged job, one job still running (no summary)
    fake_job(search / "part0" / "0", ["model=wgan", "optimizer.lr=0.001", "model.n_critic=2"], 30.0)
    fake_job(search / "part0" / "1", ["model=wgan", "optimizer.lr=0.01", "model.n_critic=1"], None)
    fake_job(
        search / "part2" / "0", ["model=wgan", "optimizer.lr=0.0002", "model.n_critic=5"], 12.0
    )
    (search / "part2" / "1" / ".hydra").mkdir(parents=True)
    for seed, fid in ((1, 14.0), (2, 10.0), (3, 18.0)):
        fake_job(runs / "wgan" / "best" / f"seed{seed}", [f"seed={seed}"], fid)
    fake_job(runs / "lsgan" / "search" / "part0" / "0", ["optimizer.beta1=0.5"], 20.0)

    assert len(collect.finished_jobs(search)) == 3
    best = collect.best_job(search)
    assert best["fid"] == 12.0
    assert best["params"] == ["optimizer.lr=0.0002", "model.n_critic=5"]

    rows = {r["loss"]: r for r in collect.gather(runs)}
    wgan = rows["wgan"]
    assert (wgan["configurations"], wgan["diverged"]) == (3, 1)
    assert wgan["median_fid"] == 30.0  # of 12, 30 and a diverged (worst) run
    assert wgan["seed_fids"] == [14.0, 10.0, 18.0]
    assert rows["lsgan"]["seed_fids"] == []

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{collect.START}\nold\n{collect.END}\nafter\n")
    sys.argv = ["collect.py", "--runs", str(runs), "--out", str(tmp_path)]
    collect.main()
    body = readme.read_text()
    assert "old" not in body and body.startswith("intro") and body.endswith("after\n")
    line = next(s for s in body.splitlines() if s.startswith("| wgan "))
    cells = [c.strip() for c in line.split("|")[1:-1]]
    assert cells[1:4] == ["3 (1)", "12.0", "30.0"]
    assert cells[5] == "14.0 ± 4.0 (n=3)" and cells[6:] == ["10.0", "14.0"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert None in next(r for r in results if r["loss"] == "wgan")["search_fids"]
    assert (tmp_path / "fid_boxplot.png").stat().st_size > 0
    assert math.isinf(collect.job_record(search / "part0" / "1")["fid"])


def test_mode_collapse_collector_mean_se_and_targets_per_data(tmp_path: Path) -> None:
    collect = load("experiments/mode_collapse/collect.py", "mode_collapse_collect")
    runs = tmp_path / "runs"
    scores = {
        # ring: every mode and >= 95% high quality meets the target; 94% does not
        ("gan", "ring"): [(8, 0.96, 0.01), (8, 0.94, 0.02), (7, 0.99, 0.30)],
        # grid: the target is 90%, so 0.92 with all 25 modes meets it
        ("gan", "grid"): [(25, 0.92, 0.02), (24, 0.95, 0.05)],
    }
    for (variant, data), seeds in scores.items():
        for job, (modes, hq, kl) in enumerate(seeds):
            folder = runs / f"{variant}-{data}" / str(job)
            folder.mkdir(parents=True)
            metrics = {"modes": modes, "high_quality": hq, "reverse_kl": kl}
            (folder / "summary.json").write_text(json.dumps({"metrics": metrics, "seconds": 60}))
    stopped = runs / "gan-grid" / "7"  # a Ctrl-C writes a summary too: not a finished run
    stopped.mkdir(parents=True)
    metrics = {"modes": 3, "high_quality": 0.01, "reverse_kl": 1.0}
    (stopped / "summary.json").write_text(json.dumps({"metrics": metrics, "finished": False}))
    spec = {"data": ["ring", "grid"], "variants": {"gan": [], "pacgan4": []}, "published": {}}
    rows = {r["data"]: r for r in collect.gather(runs, spec)}
    assert set(rows) == {"ring", "grid"}  # pacgan4 has no runs: no row
    ring = rows["ring"]
    assert (ring["seeds"], ring["target_met"]) == (3, 1)
    mean, se = ring["modes"]
    assert mean == pytest.approx(23 / 3) and se == pytest.approx(math.sqrt(1 / 3 / 3))
    assert rows["grid"]["target_met"] == 1 and rows["grid"]["seeds"] == 2
    text = collect.table(list(rows.values()), spec)
    assert "| gan | 7.7 ± 0.3 | 96.3 ± 1.5 | 0.110 ± 0.095 | 1/3 | 60 |" in text


def test_default_run_reads_the_study_and_the_seeds(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    run = load("experiments/default_run/run.py", "default_run_run")
    storage = tmp_path / "search.db"
    assert run.completed_trials(storage, "s") == []  # no study yet: the search starts
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{storage}")
    for lr, fid in ((1e-3, 9.0), (2e-4, 7.5)):
        study.add_trial(
            optuna.trial.create_trial(
                params={"optimizer.lr": lr},
                distributions={
                    "optimizer.lr": optuna.distributions.LogUniformDistribution(1e-4, 2e-3)
                },
                value=fid,
            )
        )
    study.enqueue_trial({"optimizer.lr": 5e-4})  # neither complete nor failed, like a killed trial
    done = run.completed_trials(storage, "s")
    assert sorted(t["value"] for t in done) == [7.5, 9.0]

    folder = tmp_path / "best"
    for seed, fid, finished in ((0, 8.0, True), (1, 6.0, True), (2, 99.0, False)):
        (folder / f"seed{seed}").mkdir(parents=True)
        summary = {"metrics": {"fid": fid}, "finished": finished}
        (folder / f"seed{seed}" / "summary.json").write_text(json.dumps(summary))
    assert run.seeds_of(folder, 3) == [8.0, 6.0]  # the stopped seed is not counted

    text = run.table([10.0, 12.0, 14.0], [8.0, 6.0], {"optimizer.lr": 2e-4}, floor=0.5)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()}
    assert "12.00 ± 2.00 | 24.0x" in rows["defaults before the search"]
    assert "7.00 ± 1.41 | 14.0x" in rows["search's best: `optimizer.lr=0.0002`"]
