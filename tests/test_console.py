"""What a person reads: plain progress lines when stdout is not a terminal, no dependency noise,
a summary that counts this invocation's iterations, and the run's story in train.log."""

from __future__ import annotations

import re

from tests.conftest import TINY, run_train

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
