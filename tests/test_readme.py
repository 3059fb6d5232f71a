"""Every ``python -m gans.*`` command in the README's code blocks runs as written on this machine,
shortened by overrides (two tiny iterations, small evaluations), in the README's order; a command
that needs what this machine lacks (a GPU, downloaded CelebA, CIFAR-10) must stop with its
one-line explanation instead. Only the SLURM example is skipped: it needs a cluster to submit to."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, TINY, TINY_MLP

README = ROOT / "README.md"
COMMAND = re.compile(r"^python -m (gans\.[a-z_]+) ?")
RUN = ["iterations=2", "logger=none", "trainer.enable_progress_bar=false"]
METRICS = ["metrics.num_samples=64", "metrics.num_reference=128", "metrics.batch_size=32",
           "metrics.kid_subset_size=32", "metrics.classifier.steps=20"]  # fmt: skip
SHORT = {
    "gans.evaluate": ["num_samples=64", *METRICS[1:]],
    "gans.sample": ["num=4", "interpolations=2", "steps=3", "neighbours=2", "k=2", "search=64"],
    "gans.train_classifier": ["metrics.classifier.steps=5"],
}
CYCLEGAN_TINY = ["model.generator_ab.base_channels=8", "model.generator_ab.n_blocks=1",
                 "model.discriminator_a.base_channels=8"]  # fmt: skip
#: the VQGAN stages', StyleGAN2's and ProGAN's networks have other names than TINY's
OWN_SIZES = {
    "vqgan": ["model.encoder.ch=8", "model.quantizer.num_codes=16", "model.quantizer.dim=8",
              "model.discriminator.base_channels=8", "metrics.classifier.steps=20"],
    "vqgan_transformer": ["model.transformer.width=16", "model.transformer.depth=1",
                          "model.transformer.heads=2"],
    "stylegan2": ["model.generator.channel_base=64", "model.generator.channel_max=8",
                  "model.latent.dim=8", "model.generator.w_dim=8"],
    "progan": ["model.generator.channel_base=64", "model.generator.channel_max=8",
               "model.latent.dim=8"],
}  # fmt: skip
#: commands that cannot run on this machine, and what their one line must say instead
EXPLAINED = {
    "trainer=ddp ": "trainer=ddp_cpu runs the same DDP code path in CPU processes",
    "data=celeba": "data=celeba: no images found",
    "data=cifar10": "not found",
}


def readme_commands() -> list[str]:
    """The README's ``python -m gans.*`` lines, continuations joined and comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if len(words) > 2 and words[:2] == ["python", "-m"] and words[2].startswith("gans."):
                commands.append(shlex.join(words))
            elif len(words) > 1 and words[0] == "python" and words[1].endswith("make_data.py"):
                commands.append(shlex.join(words))  # data the following commands read
    return commands


def shortened(command: str, where: Path, last: Path | None) -> list[str]:
    """``command``'s module and arguments with the shortening overrides it does not set."""
    if command.endswith("make_data.py"):
        return shlex.split(command)[1:]
    words = shlex.split(command)[2:]
    module, given = words[0], words[1:]
    if last is not None:  # the README's placeholder paths: the newest checkpoint so far
        given = [f"{w.split('=')[0]}={last}" if "outputs/..." in w else w for w in given]
    given = ["iterations=4" if w.startswith("iterations=") else w for w in given]
    keys = {w.split("=", 1)[0].lstrip("+") for w in given if "=" in w}
    if module == "gans.train":
        model = next((w.split("=")[1] for w in given if w.startswith("model=")), "dcgan")
        size = [] if model == "gan2d" else (TINY_MLP if model == "gan" else TINY)
        if model == "cyclegan":  # its networks have other names
            size = [o for o in TINY if "base_channels" not in o] + CYCLEGAN_TINY
        if model in OWN_SIZES:
            size = [o for o in TINY if "base_channels" not in o] + OWN_SIZES[model]
        if any(k == "data" or k.startswith("data.") for k in keys):
            size = [o for o in size if not o.startswith("data.image_size")]
        extra = [*size, *RUN]
        if any(w.startswith("hparams_search=") for w in given):
            extra = [o for o in extra if o != "metrics=none"] + [
                *METRICS,
                "hydra.sweeper.n_trials=2",
            ]
        extra += [f"hydra.sweep.dir={where}"] if "-m" in given else [f"hydra.run.dir={where}"]
    else:
        extra = SHORT.get(module, [])
    return [module, *given, *[o for o in extra if o.split("=", 1)[0] not in keys]]


@pytest.mark.readme
def test_every_readme_command_runs_or_explains_itself(tmp_path):
    commands = readme_commands()
    assert len(commands) >= 20, commands  # the parser found the README's examples
    last: Path | None = None
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    for n, command in enumerate(commands):
        if "hydra/launcher=slurm" in command:
            continue
        words = shortened(command, tmp_path / "outputs" / "readme" / f"{n:02d}", last)
        run_as = [sys.executable] if words[0].endswith(".py") else [sys.executable, "-m"]
        result = subprocess.run([*run_as, *words], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=600)  # fmt: skip
        said = next((s for key, s in EXPLAINED.items() if key in f"{command} "), None)
        if said is not None:
            errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
            assert result.returncode == 2 and len(errors) == 1, (words, result.stderr[-2000:])
            assert said in errors[0] and "Traceback" not in result.stderr, (words, errors)
            continue
        assert result.returncode == 0, (words, result.stderr[-3000:])
        checkpoints = list((tmp_path / "outputs").rglob("checkpoints/last.ckpt"))
        if checkpoints:
            last = max(checkpoints, key=lambda p: p.stat().st_mtime)
