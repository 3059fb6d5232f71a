"""Experiment tables cannot go stale silently: every row's recorded settings recompose on today's
configs, and the rows that compose differently are the rows its README marks stale."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))
import provenance  # noqa: E402

#: folders without trained rows: real-vs-real floors (no training)
UNTRAINED = {"fid_floor"}
EXPERIMENTS = sorted(p.name for p in (ROOT / "experiments").iterdir() if (p / "README.md").exists())


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n not in UNTRAINED])
def test_every_experiment_records_its_rows_settings(name: str) -> None:
    folder = ROOT / "experiments" / name
    assert (folder / provenance.SETTINGS).exists(), f"{name} has no {provenance.SETTINGS}"
    body = (folder / "README.md").read_text()
    assert provenance.STALE_START in body and provenance.STALE_END in body, name


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n not in UNTRAINED])
def test_the_readme_marks_exactly_the_rows_whose_settings_changed(name: str) -> None:
    """A change to a preset or default that a row used makes it stale in the same commit: re-run
    it, or ``python experiments/provenance.py --mark`` to say so in the README."""
    folder = ROOT / "experiments" / name
    stale = provenance.stale(folder)
    assert set(stale) == provenance.marked(folder), {
        "stale, not marked": {r: stale[r][:4] for r in set(stale) - provenance.marked(folder)},
        "marked, no longer stale": sorted(provenance.marked(folder) - set(stale)),
    }


def test_places_seeds_and_watching_are_not_settings() -> None:
    plain = provenance.settings(["model=dcgan"])
    watched = provenance.settings(
        ["model=dcgan", "seed=3", "logger=csv", "data.root=/elsewhere", "sample_every=7",
         "metrics=none", "hydra.run.dir=/tmp/x", "trainer.enable_progress_bar=false"]
    )  # fmt: skip
    assert watched == plain
    assert provenance.digest(watched) == provenance.digest(plain)


def test_a_changed_setting_is_named_with_both_values() -> None:
    before = provenance.settings(["model=dcgan", "optimizer.lr=1e-3"])
    now = provenance.settings(["model=dcgan", "optimizer.lr=2e-3"])
    assert provenance.digest(before) != provenance.digest(now)
    assert "optimizer.lr: 0.001 -> 0.002" in provenance.changes(before, now)


def test_an_option_added_later_is_no_change_at_its_old_behaviour_only() -> None:
    now = provenance.settings(["model=dcgan"])
    before = {k: v for k, v in now.items() if k != "compile"}  # measured before `compile` existed
    assert now["compile"] is False and provenance.changes(before, now) == []
    compiled = provenance.settings(["model=dcgan", "compile=true"])
    assert provenance.changes(before, compiled) == ["compile: False -> True"]


def test_a_disabled_average_has_no_settings() -> None:
    a = provenance.settings(["model=dcgan", "ema.enabled=false", "ema.decay=0.9"])
    b = provenance.settings(["model=dcgan", "ema.enabled=false", "ema.decay=0.999"])
    assert a == b
    assert provenance.settings(["model=dcgan", "ema.enabled=true", "ema.decay=0.9"]) != (
        provenance.settings(["model=dcgan", "ema.enabled=true", "ema.decay=0.999"])
    )


def test_a_row_measured_on_other_settings_is_stale_until_marked(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        f"# x\n\n{provenance.STALE_START}\n{provenance.STALE_END}\n\n| row |\n"
    )
    provenance.record(tmp_path, {"fresh": ["model=dcgan"], "old": ["model=dcgan"]})
    assert provenance.stale(tmp_path) == {}
    stored = json.loads((tmp_path / provenance.SETTINGS).read_text())
    stored["old"]["settings"]["optimizer.beta1"] = 0.0  # measured with another beta1
    stored["old"]["digest"] = "0" * 12
    stored["gone"] = {**stored["fresh"], "overrides": ["model=no_such_model"]}
    (tmp_path / provenance.SETTINGS).write_text(json.dumps(stored))
    stale = provenance.stale(tmp_path)
    assert stale["old"] == ["optimizer.beta1: 0.0 -> 0.5"]
    assert stale["gone"][0].startswith("no longer composes")
    assert set(stale) == {"old", "gone"} and provenance.marked(tmp_path) == set()
    measured = {r: e["measured"] for r, e in stored.items()}
    provenance.replace_between(
        tmp_path / "README.md",
        provenance.block(stale, measured),
        provenance.STALE_START,
        provenance.STALE_END,
    )
    assert provenance.marked(tmp_path) == {"old", "gone"}
    assert "| row |" in (tmp_path / "README.md").read_text()
