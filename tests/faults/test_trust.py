"""The checkpoint trust boundary, tried as an attacker would (README, "The checkpoint trust
boundary"): a checkpoint may say which of the package's options a run chose, never which code runs.
Every payload below is a checkpoint a stranger could hand over; each command that reads it must stop
with one line on stderr naming the key and the file, exit 2, and leave nothing behind (no file the
payload would write, no run directory)."""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from gans.train import train
from tests.conftest import ROOT, TINY, compose_config, one_line
from tests.test_vqgan import VQGAN_TINY

pytestmark = pytest.mark.faults

ENV = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
QUIET = ["logger=none", "sample_every=0"]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """A genuine 1-iteration DCGAN checkpoint, loaded."""
    run = tmp_path_factory.mktemp("base")
    train(compose_config([*TINY, *QUIET, "iterations=1", f"paths.run_dir={run}"]))
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


def command(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def refused(result: subprocess.CompletedProcess, *said: str) -> str:
    return one_line(result, 2, *said)


def make(mark: Path) -> dict:
    """What each payload tries: create ``mark`` (a folder) by calling os.makedirs."""
    return {"_target_": "os.makedirs", "name": str(mark)}


def at(config: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


# Each payload edits the stored config; the key the refusal must name follows it.
PAYLOADS: dict[str, tuple[Callable[[dict, Path], None], str]] = {
    # attribute chains through modules an old prefix allow-list let through
    "chain-torchvision": (
        lambda c, m: at(
            c, "model.generator", {**make(m), "_target_": "torchvision.datasets.utils.os.makedirs"}
        ),
        "model.generator._target_='torchvision.datasets.utils.os.makedirs'",
    ),  # fmt: skip
    "chain-gans": (
        lambda c, m: at(c, "model.generator", {**make(m), "_target_": "gans.resume.os.makedirs"}),
        "model.generator._target_='gans.resume.os.makedirs'",
    ),
    "chain-torch-hub": (
        lambda c, m: at(
            c,
            "model.discriminator",
            {
                "_target_": "torch.nn.functional.torch.hub.load",
                "repo_or_dir": str(m),
                "model": "x",
                "source": "local",
            },
        ),
        "model.discriminator._target_='torch.nn.functional.torch.hub.load'",
    ),  # fmt: skip
    # every key the builder reads, including those the old check skipped
    **{
        f"key-{key}": ((lambda k: lambda c, m: at(c, k, make(m)))(key), f"{key}._target_")
        for key in (
            "model.generator",
            "loss",
            "optimizer.generator",
            "regularizer.evil",
            "augment",
            "data.datamodule",
            "ema",
            "seed",
            "log_every",
            "check_finite_every",
            "model.objective",
            "metrics",
        )
    },  # fmt: skip
    # a _target_ nested in an argument, and in a list
    "nested-argument": (
        lambda c, m: at(c, "model.generator.activation", make(m)),
        "model.generator.activation._target_",
    ),
    "nested-list": (
        lambda c, m: at(c, "model.generator.channels", [1, make(m)]),
        "model.generator.channels.1._target_",
    ),
    # Hydra's special keys
    "args": (
        lambda c, m: at(c, "optimizer.generator._args_", [str(m)]),
        "optimizer.generator._args_",
    ),
    "partial": (
        lambda c, m: at(c, "optimizer.generator._partial_", make(m)),
        "optimizer.generator._partial_",
    ),
    "convert": (
        lambda c, m: at(c, "model._convert_", "all; os.makedirs"),
        "model._convert_",
    ),
    # interpolations and resolvers in stored values (a saved config is resolved)
    "interpolation-create": (
        lambda c, m: at(
            c, "model.generator", "${oc.create:{_target_: os.makedirs, name: '" + str(m) + "'}}"
        ),
        'model.generator="${oc.create:',
    ),  # fmt: skip
    "interpolation-env": (lambda c, m: at(c, "data.root", "${oc.env:HOME}"), "data.root="),
    # write a hubconf.py with an allowed-looking writer, then load it with torch.hub
    "write-then-load": (
        lambda c, m: (
            at(
                c,
                "model.generator",
                {
                    "_target_": "torchvision.io.write_file",
                    "filename": str(m / "hubconf.py"),
                    "data": "x",
                },
            ),
            at(
                c,
                "model.discriminator",
                {
                    "_target_": "torch.hub.load",
                    "repo_or_dir": str(m),
                    "model": "x",
                    "source": "local",
                },
            ),
        ),
        "_target_='torchvision.io.write_file'",
    ),  # fmt: skip
}


def tampered(base: dict, folder: Path, payload: str) -> tuple[Path, Path]:
    """(checkpoint file, the mark its payload would create)."""
    edit, _ = PAYLOADS[payload]
    ckpt = copy.deepcopy(base)
    mark = folder / "made-by-the-checkpoint"
    edit(ckpt["gans"]["config"], mark)
    path = folder / "tampered.ckpt"
    torch.save(ckpt, path)
    return path, mark


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_every_payload_is_refused_in_one_line_and_runs_nothing(base, tmp_path, payload):
    path, mark = tampered(base, tmp_path, payload)
    before = files_under(tmp_path)
    result = command("gans.sample", f"ckpt={path}", f"out={tmp_path / 'grids'}", cwd=tmp_path)
    refused(result, f"ckpt={path}: ", PAYLOADS[payload][1], "is refused")
    assert not mark.exists() and files_under(tmp_path) == before


@pytest.mark.parametrize(
    "how",
    ["evaluate", "translate", "sample", "resume", "fork"],
)
def test_every_command_that_reads_a_checkpoint_refuses_it(base, tmp_path, how):
    path, mark = tampered(base, tmp_path, "chain-torchvision")
    work = tmp_path / "work"
    work.mkdir()
    args = {
        "evaluate": ("gans.evaluate", f"ckpt={path}", "num_samples=16"),
        "translate": ("gans.translate", f"ckpt={path}", f"input={work}", f"output={work}/out"),
        "sample": ("gans.sample", f"ckpt={path}"),
        "resume": ("gans.train", *TINY, *QUIET, "iterations=3", f"ckpt_path={path}"),
        "fork": ("gans.train", *TINY, *QUIET, "iterations=3", f"ckpt_path={path}",
                 f"paths.run_dir={work}/fork"),
    }[how]  # fmt: skip
    key = "ckpt_path" if how in ("resume", "fork") else "ckpt"
    refused(command(*args, cwd=work), f"{key}={path}: ", "is refused")
    assert not mark.exists()
    assert not any(work.iterdir()), sorted(work.rglob("*"))  # no run directory left behind


@pytest.mark.parametrize("how", ["sample", "resume"])
def test_a_pickle_payload_is_refused_unread(tmp_path, how):
    mark = tmp_path / "made-by-unpickling"

    class Payload:
        def __reduce__(self):
            return (os.makedirs, (str(mark),))

    path = tmp_path / "pickle.ckpt"
    torch.save({"state_dict": {}, "gans": {"config": {}}, "x": Payload()}, path)
    work = tmp_path / "work"
    work.mkdir()
    args = (("gans.sample", f"ckpt={path}") if how == "sample" else
            ("gans.train", *TINY, *QUIET, f"ckpt_path={path}"))  # fmt: skip
    said = refused(command(*args, cwd=work), "holds a pickled object", "refused unread")
    assert "weights_only" not in said and "Re-running torch.load" not in said
    assert not mark.exists() and not any(work.iterdir())


def test_a_tampered_stage_one_checkpoint_is_refused_inside_gans_train(tmp_path):
    stage1 = tmp_path / "stage1"
    train(compose_config([*VQGAN_TINY, *QUIET, "iterations=1", "metrics=none",
                          f"paths.run_dir={stage1}"]))  # fmt: skip
    ckpt = torch.load(stage1 / "checkpoints" / "last.ckpt", weights_only=True)
    mark = tmp_path / "made-by-stage-one"
    at(ckpt["gans"]["config"], "model.encoder", make(mark))
    path = tmp_path / "stage1.ckpt"
    torch.save(ckpt, path)
    work = tmp_path / "work"
    work.mkdir()
    result = command(
        "gans.train", "model=vqgan_transformer", "data=digits", "data.image_size=16",
        "model.transformer.width=16", "model.transformer.depth=1", "model.transformer.heads=2",
        "metrics=none", *QUIET, "iterations=1", f"model.first_stage={path}", cwd=work,
    )  # fmt: skip
    refused(result, f"model.first_stage={path}: model.encoder._target_='os.makedirs'")
    assert not mark.exists() and not any(work.iterdir())


@pytest.mark.parametrize("edit", ["shape", "nan"])
@pytest.mark.parametrize("module", ["gans.sample", "gans.evaluate", "gans.translate"])
def test_a_shape_edited_or_non_finite_checkpoint_is_one_line_in_every_command(
    base, tmp_path, module, edit
):
    ckpt = copy.deepcopy(base)
    name = next(k for k in ckpt["state_dict"] if k.startswith("generator."))
    weight = ckpt["state_dict"][name]
    ckpt["state_dict"][name] = torch.zeros(3, 3) if edit == "shape" else weight * math.nan
    path = tmp_path / f"{edit}.ckpt"
    torch.save(ckpt, path)
    work = tmp_path / "work"
    work.mkdir()
    extra = {"gans.evaluate": ["num_samples=16"], "gans.sample": [],
             "gans.translate": [f"input={work}", f"output={work}/out"]}[module]  # fmt: skip
    said = "its tensors do not fit" if edit == "shape" else "holds non-finite values"
    refused(command(module, f"ckpt={path}", *extra, cwd=work), f"ckpt={path}", said, name)
    assert not any(work.iterdir())


def test_a_config_directory_named_on_the_command_line_extends_what_is_trusted(base, tmp_path):
    """A run with the user's own objective restores when the user names the config directory
    that defines it (``--config-dir``), and is refused without it."""
    ckpt = copy.deepcopy(base)
    config = ckpt["gans"]["config"]
    for node in (config["loss"], config["model"]["objective"]):
        node["_target_"] = "tests.toy_game.UsersObjective"
    path = tmp_path / "users.ckpt"
    torch.save(ckpt, path)
    mine = tmp_path / "my-conf" / "loss"
    mine.mkdir(parents=True)
    (mine / "users.yaml").write_text("_target_: tests.toy_game.UsersObjective\n")
    args = ("gans.sample", f"ckpt={path}", f"out={tmp_path / 'grids'}", "num=4", "device=cpu")
    refused(command(*args, cwd=tmp_path), "loss._target_='tests.toy_game.UsersObjective'")
    done = command(*args, "--config-dir", str(tmp_path / "my-conf"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((tmp_path / "grids").glob("*.png"))
