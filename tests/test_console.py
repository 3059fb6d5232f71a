"""What a person reads: plain progress lines when stdout is not a terminal, no dependency noise,
a summary that counts this invocation's iterations, and the run's story in train.log."""

from __future__ import annotations

import difflib
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, TINY, run_train

QUIET_RUN = [
    *[o for o in TINY if not o.startswith(("log_every", "trainer.enable_progress_bar"))],
    "log_every=2",
    "logger=wandb",  # offline: its own console lines are allowed, its warnings are not
]
NOISE = (
    "litlogger",
    "The anonymous setting has no effect",
    "isinstance(treespec, LeafSpec)",
    "module(s) in eval mode",
    "Training:",
    "is smaller than the logging interval",
    "UserWarning",
)


def test_a_run_piped_to_a_file_prints_plain_lines_and_logs_them(tmp_path):
    result = run_train(*QUIET_RUN, "iterations=4", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout
    lines = re.findall(r"^iteration (\d+)/4 \(\d+%\) \| ", result.stdout, flags=re.M)
    assert lines == ["1", "2", "4"]  # the first iteration at once, then every log_every
    progress = re.findall(r"^iteration (\d+)/4 \(\d+%\) \| .*loss/d \S+ loss/g \S+$",
                          result.stdout, flags=re.M)  # fmt: skip
    assert progress == ["2", "4"]  # with the losses logged at those iterations
    for noise in NOISE:
        assert noise not in result.stdout + result.stderr, noise
    log = (tmp_path / "train.log").read_text()
    assert "iteration 4/4 (100%)" in log and "trained 4 generator iterations" in log


def test_a_resumed_run_counts_its_own_iterations_and_appends_to_the_runs_log(tmp_path):
    first = run_train(*QUIET_RUN, "iterations=2", f"hydra.run.dir={tmp_path}")
    assert first.returncode == 0, first.stderr
    last = tmp_path / "checkpoints" / "last.ckpt"
    again = run_train(*QUIET_RUN, "iterations=6", f"ckpt_path={last}")
    assert again.returncode == 0, again.stderr
    assert "trained 4 generator iterations (iterations 2-6: resumed)" in again.stdout
    for noise in (*NOISE, "exists and is not empty"):  # its own folders are not empty: expected
        assert noise not in again.stdout + again.stderr, noise
    log = (tmp_path / "train.log").read_text()
    assert log.index("trained 2 generator iterations") < log.index(f"resumed from {last}")
    assert "iteration 6/6 (100%)" in log


def test_train_log_has_the_progress_lines_without_a_progress_bar(tmp_path):
    result = run_train(*QUIET_RUN, "iterations=2", "trainer.enable_progress_bar=false",
                       "logger=none", f"hydra.run.dir={tmp_path}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "iteration 2/2" not in result.stdout  # no bar, no console lines
    assert "iteration 2/2 (100%)" in (tmp_path / "train.log").read_text()


def test_a_run_that_will_take_hours_says_so_with_its_estimate(tmp_path):
    result = run_train(*QUIET_RUN, "iterations=100000000", "logger=none",
                       "+trainer.max_time=00:00:00:08", f"hydra.run.dir={tmp_path}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    said = result.stdout + result.stderr
    assert said.count("this run needs") == 1 and "on this machine (cpu)" in said
    assert "this run needs" in (tmp_path / "train.log").read_text()
    short = run_train(*QUIET_RUN, "iterations=4", "logger=none", f"hydra.run.dir={tmp_path}/s")
    assert "this run needs" not in short.stdout + short.stderr


SNAPSHOT = Path(__file__).parent / "snapshots" / "console_default_run.txt"
#: lines whose presence depends on the machine's speed (preparation progress every 15 s)
TIMED = re.compile(r"^\[<time>\]\[gans\.preparing\]")


def normalized(console: str, run_dir: Path, cache: Path) -> list[str]:
    """The console with what changes between runs replaced: paths, times, ids, numbers."""
    text = console.replace(str(run_dir), "<run>").replace(str(cache), "<cache>")
    text = text.replace(str(ROOT), "<repo>")
    text = re.sub(r"\[\d{4}-\d\d-\d\d [\d:,]+\]", "[<time>]", text)
    text = re.sub(r"offline-run-\d{8}_\d{6}-\w+", "offline-run-<id>", text)
    text = re.sub(r"GPU available: .*", "GPU available: <machine>", text)
    text = re.sub(r"[0-9a-f]{16}(?=\.pt)", "<digest>", text)  # cache keys name paths
    text = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "<n>", text)
    return [line for line in text.splitlines() if not TIMED.match(line)]


def test_the_console_of_a_default_run_is_the_snapshot(tmp_path):
    """Every line a default run prints (shortened to 4 iterations, piped), in order: anything new
    (a dependency's banner, a warning, a table) fails here until it is filtered or made
    meaningful. GANS_UPDATE_SNAPSHOTS=1 rewrites the snapshot."""
    run_dir, cache = tmp_path / "run", tmp_path / "cache"
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    env.pop("WANDB_SILENT", None)  # the run's own configuration must silence W&B
    env["XDG_CACHE_HOME"] = str(cache)  # a first run on a clean machine: nothing cached yet
    result = subprocess.run(
        [sys.executable, "-m", "gans.train", "iterations=4", f"hydra.run.dir={run_dir}",
         f"metrics.cache_dir={cache}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    lines = normalized(result.stdout, run_dir, cache)
    if os.environ.get("GANS_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text("\n".join(lines) + "\n")
    expected = SNAPSHOT.read_text().splitlines()
    assert lines == expected, "\n".join(
        difflib.unified_diff(expected, lines, "snapshot", "this run", lineterm="")
    )


def test_a_long_preparation_step_says_how_far_it_is_when_piped(caplog):
    """Piped (as under pytest), each step's progress is a plain log line, not a hidden bar."""
    from gans.preparing import progress

    with caplog.at_level(logging.INFO, logger="gans.preparing"):
        out = list(progress(range(5), 5, "training the metrics classifier", every=0.0))
    assert out == [0, 1, 2, 3, 4]
    said = [r.getMessage() for r in caplog.records if r.name == "gans.preparing"]
    assert len(said) == 4  # after each step but the last
    assert said[0].startswith("training the metrics classifier: 1/5 steps (20%), ETA 0:00:00")
    with caplog.at_level(logging.INFO, logger="gans.preparing"):
        caplog.clear()
        list(progress(range(5), 5, "quick", every=3600.0))
    assert not caplog.records  # nothing to say when it is quick


def test_the_networks_line_names_each_network_its_size_and_what_is_not_trained(tiny_config):
    from lightning.pytorch.utilities.model_summary import get_human_readable_count

    from gans.build import build_model
    from gans.callbacks.summary import networks_line

    model = build_model(tiny_config("ema.enabled=true"))
    line = networks_line(model)
    g = sum(p.numel() for p in model.generator.parameters())
    assert line.startswith("networks: generator (Generator) ")
    assert "discriminator (Discriminator) " in line
    assert "generator_ema (NetworkEMA) " in line and line.count("not trained") == 1
    assert "terms" not in line  # the parameter-free loss terms are not a network
    total = 2 * g + sum(p.numel() for p in model.discriminator.parameters())
    assert f"| {get_human_readable_count(total).strip()} parameters, " in line
    assert "FLOPs" not in line
