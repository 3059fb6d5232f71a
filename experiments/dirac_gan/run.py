"""Dirac-GAN study (Mescheder, Geiger & Nowozin 2018, Sec. 2-3) run by the framework's own game.

    python experiments/dirac_gan/run.py            # all methods -> results.csv, trajectories.png

Every run is `python -m gans.train model=dirac ...` composed in-process: the same module, losses,
regularizers and update order as any other model. Writes the README table rows to stdout.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

os.environ.setdefault("WANDB_MODE", "offline")
from gans.train import CONF_DIR, build_model, train  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import provenance  # noqa: E402

METHODS: dict[str, list[str]] = {
    "GAN": ["loss=minimax"],
    "non-saturating GAN": ["loss=nonsaturating"],
    "WGAN (clip 1)": [
        "loss=wasserstein",
        "regularizer=weight_clip",
        "regularizer.weight_clip.clip=1",
    ],
    "WGAN-GP (0.7, target 1)": [
        "loss=wasserstein",
        "regularizer=gradient_penalty",
        "regularizer.gradient_penalty.weight=0.7",
    ],
    "instance noise (std 0.7)": ["regularizer=instance_noise", "data.batch_size=262144"],
    "R1 (gamma 0.3)": ["regularizer=r1", "regularizer.r1.gamma=0.3"],
    "R1 (gamma 1, critical)": ["regularizer=r1", "regularizer.r1.gamma=1"],
    "consensus (gamma 1)": ["regularizer=consensus", "regularizer.consensus.gamma=1"],
}
FIXED = ["model=dirac", "logger=none", "checkpoint_every=0", "trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false"]  # fmt: skip
UPDATES = ("simultaneous", "alternating")
N_CRITIC = (1, 5)


class Trajectory(L.Callback):
    """(theta, psi) at the start and after every batch (every D step and G iteration)."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def _record(self, pl_module: Any) -> None:
        self.points.append((pl_module.generator.theta.item(), pl_module.discriminator.psi.item()))

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._record(pl_module)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        self._record(pl_module)


def config(overrides: list[str], run_dir: Path) -> DictConfig:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[*FIXED, f"paths.run_dir={run_dir}", *overrides],
        )


def run(method: str, updates: str, n_critic: int, out: Path) -> list[tuple[float, float]]:
    overrides = [*METHODS[method], f"model.updates={updates}", f"model.n_critic={n_critic}"]
    trace = Trajectory()
    with tempfile.TemporaryDirectory() as run_dir:
        train(config(overrides, Path(run_dir)), extra_callbacks=[trace])
    provenance.record(HERE, {row(method, updates, n_critic): [*FIXED, *overrides]})
    return trace.points


def row(method: str, updates: str, n_critic: int) -> str:
    """The results table's row (``results.csv``'s first three columns)."""
    return f"{method}, {updates}, n_critic {n_critic}"


def vector_field(method: str, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi) from the framework's own loss code."""
    cfg = config(METHODS[method], Path("/tmp/dirac-field"))
    model = build_model(cfg)
    torch.manual_seed(0)
    x = torch.zeros(4096 if "noise" in method else 1, 1)
    u, v = torch.zeros(grid.shape[1:]), torch.zeros(grid.shape[1:])
    for i in range(grid.shape[1]):
        for j in range(grid.shape[2]):
            with torch.no_grad():
                model.generator.theta.fill_(grid[0, i, j].item())
                model.discriminator.psi.fill_(grid[1, i, j].item())
            fake = model.generator(torch.zeros(x.shape[0], 1))
            d_loss, _, _ = model.discriminator_loss(x, fake.detach(), None)
            g_loss = model.objective.g_loss(model.discriminator(model.perturb(fake), None))
            g_loss = model.add_joint_terms(g_loss, x, None)
            (dpsi,) = torch.autograd.grad(d_loss, [model.discriminator.psi])
            (dtheta,) = torch.autograd.grad(g_loss, [model.generator.theta])
            u[i, j], v[i, j] = -dtheta.item(), -dpsi.item()
    return u, v


def plot(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(18, 9))
    lin = torch.linspace(-2, 2, 17)
    grid = torch.stack(torch.meshgrid(lin, lin, indexing="ij"))
    styles = {
        ("simultaneous", 1): ("tab:red", "-"),
        ("alternating", 1): ("tab:blue", "-"),
        ("simultaneous", 5): ("tab:red", ":"),
        ("alternating", 5): ("tab:blue", ":"),
    }
    for ax, method in zip(axes.flat, METHODS, strict=True):
        u, v = vector_field(method, grid)
        ax.quiver(grid[0], grid[1], u, v, color="0.6", angles="xy")
        for (updates, n_critic), (color, ls) in styles.items():
            pts = torch.tensor(results[(method, updates, n_critic)])
            ax.plot(
                pts[:, 0],
                pts[:, 1],
                color=color,
                ls=ls,
                lw=1,
                label=f"{updates}, n_critic {n_critic}",
            )
        ax.plot([1], [1], "ko", ms=4)
        ax.plot([0], [0], "k*", ms=8)
        ax.set_xlim(-2, 2)
        ax.set_ylim(-2, 2)
        ax.set_title(method)
        ax.set_xlabel("theta")
        ax.set_ylabel("psi")
    axes.flat[0].legend(loc="lower left", fontsize=7)
    fig.suptitle("Dirac-GAN, h = 0.2, 500 generator iterations from (1, 1)")
    fig.tight_layout()
    fig.savefig(out / "trajectories.png", dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    results = {}
    rows = []
    for method in METHODS:
        for updates in UPDATES:
            for n_critic in N_CRITIC:
                points = run(method, updates, n_critic, args.out)
                results[(method, updates, n_critic)] = points
                theta, psi = points[-1]
                rows.append(
                    {
                        "method": method,
                        "updates": updates,
                        "n_critic": n_critic,
                        "final |theta|": f"{abs(theta):.2e}",
                        "final |psi|": f"{abs(psi):.2e}",
                        "final radius": f"{math.hypot(theta, psi):.3g}",
                        "max radius": f"{max(math.hypot(*p) for p in points):.3g}",
                    }
                )
    with open(args.out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    if not args.no_plot:
        plot(results, args.out)


if __name__ == "__main__":
    sys.exit(main())
