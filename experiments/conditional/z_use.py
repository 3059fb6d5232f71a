"""How much a conditional generator's samples depend on z and on the label, along a run: the
measurement behind the README's "why the cGAN draws one image per class".

    python experiments/conditional/z_use.py outputs/conditional/cgan_cls_2k-s0/checkpoints/*.ckpt

Per checkpoint (EMA generator, eval mode, 1,000 latents from a fixed seed): the per-pixel standard
deviation of the samples over z with the label fixed (averaged over the 10 labels) and over the
labels with z fixed (averaged over 100 latents); the real digits spread 0.28 within a class
(0.35 over all; pixels in [-1, 1]). For the cGAN's MLP generator also its z pathway: the share
of its ReLU units active and the mean norm of its output beside the label pathway's (Mirza &
Osindero's separate z and y layers).
"""

from __future__ import annotations

import argparse
import json

import torch

from gans import restore


@torch.no_grad()
def z_use(ckpt: str, n: int = 1000) -> dict[str, float]:
    _, game, iteration = restore.restore(ckpt)
    classes = int(game.num_classes)
    z = game.prior.sample(n, game.device, generator=torch.Generator().manual_seed(0))
    over_z = [
        game.sample(n, labels=torch.full((n,), c), inputs=z).flatten(1).std(0).mean()
        for c in range(classes)
    ]
    fixed = z[:100].repeat_interleave(classes, 0)
    labels = torch.arange(classes).repeat(100)
    made = game.sample(len(fixed), labels=labels, inputs=fixed).flatten(1)
    over_y = made.view(100, classes, -1).std(1).mean()
    record = {
        "iteration": iteration,
        "std_over_z": float(torch.stack(over_z).mean()),
        "std_over_labels": float(over_y),
    }
    generator = game.network("generator", ema=True)
    if hasattr(generator, "z_path"):  # the cGAN MLP (gans.nets.cgan.Generator)
        generator.eval()
        h_z = generator.z_path(z)
        h_y = generator.y_path(torch.eye(classes)[labels[:n] % classes])
        record["z_units_active"] = float((h_z > 0).float().mean())
        record["z_path_norm"] = float(h_z.norm(dim=1).mean())
        record["y_path_norm"] = float(h_y.norm(dim=1).mean())
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+")
    args = parser.parse_args()
    for ckpt in args.checkpoints:
        print(json.dumps({k: round(v, 4) for k, v in z_use(ckpt).items()}), flush=True)


if __name__ == "__main__":
    main()
