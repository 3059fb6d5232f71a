"""W&B dashboards as code, built offline (the real wandb-workspaces objects, no mock): the panels
a run and a sweep need, and the command that writes the definition without credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from omegaconf import OmegaConf

from gans.dashboard import build, definition, swept_keys
from tests.conftest import ROOT, one_line

DEFAULTS = {"entity": "lab", "project": "gans", "name": "gans", "sweep": None,
            "protocol": None, "out": None, "publish": False}  # fmt: skip


def panels(workspace_definition: dict) -> dict[str, list[dict]]:
    return {s["name"]: s["panels"] for s in workspace_definition["sections"]}


def multirun(tmp_path):
    """A Hydra multirun directory as a grid sweep plus an Optuna sweeper leave it."""
    OmegaConf.save(
        {"hydra": {"overrides": {"task": ["optimizer.lr=1e-4,2e-4", "model=dcgan",
                                          "optimizer.beta1=choice(0.0,0.5)"]},
                   "sweeper": {"params": {"model.n_critic": "range(1,5)"}}}},
        tmp_path / "multirun.yaml",
    )  # fmt: skip
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "summary.json").write_text(json.dumps({"protocol": "classifier-1a2b_g2000"}))
    return tmp_path


def test_a_runs_dashboard_has_losses_quality_samples_and_health():
    sections = panels(definition(build(OmegaConf.create(DEFAULTS))))
    losses = sections["Losses and D's outputs"]
    assert losses[0]["y"] == ["loss/d", "loss/g"] and losses[0]["x"] == "trainer/global_step"
    assert losses[1]["y"] == ["D(x)", "D(G(z))"]
    quality = [p["metric_regex"] for p in sections["Sample quality (protocol-stamped keys)"]]
    assert quality[:5] == ["^fid/.*", "^kid/.*", "^is/.*", "^precision/.*", "^recall/.*"]
    assert [p["media_keys"] for p in sections["Samples"]][0] == ["samples"]
    assert sections["Health signs"][0]["y"] == ["health/diversity_ratio"]
    assert "Sweep" not in sections


def test_a_sweeps_dashboard_plots_fid_against_every_swept_setting(tmp_path):
    sweep = multirun(tmp_path)
    assert swept_keys(str(sweep)) == ["optimizer.lr", "optimizer.beta1", "model.n_critic"]
    cfg = OmegaConf.create({**DEFAULTS, "sweep": str(sweep)})
    sweep_panels = panels(definition(build(cfg)))["Sweep"]
    columns = [json.dumps(c["metric"]) for c in sweep_panels[0]["columns"]]
    assert len(columns) == 4 and "fid/classifier-1a2b_g2000" in columns[-1]
    assert all(key in col for key, col in zip(swept_keys(str(sweep)), columns, strict=False))
    assert [p["title"] for p in sweep_panels[1:]] == [
        "FID vs optimizer.lr", "FID vs optimizer.beta1", "FID vs model.n_critic"
    ]  # fmt: skip


def test_without_credentials_the_command_writes_the_definition(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    out = tmp_path / "dash.json"
    result = subprocess.run(
        [sys.executable, "-m", "gans.dashboard", f"sweep={multirun(tmp_path)}", f"out={out}"],
        cwd=tmp_path, env={**env, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"wrote the workspace definition to {out}" in result.stdout
    assert "publish=true" in result.stdout
    assert "Sweep" in panels(json.loads(out.read_text()))


def test_publish_without_credentials_says_how_to_log_in_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "gans.dashboard", "entity=lab", "publish=true"],
        cwd=tmp_path, env={**env, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    one_line(result, 2, "publish=true needs W&B credentials", "wandb login")
    written = subprocess.run(
        [sys.executable, "-m", "gans.dashboard", "entity=lab", f"out={tmp_path / 'd.json'}"],
        cwd=tmp_path, env={**env, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "entity=lab project=" in written.stdout  # the hint keeps the entity given
