"""Digest of the trained weights for a fixed seed, to show a refactor changes no number.

    python benchmarks/weights_digest.py [--iterations 200] > before.txt
    ... change the code ...
    python benchmarks/weights_digest.py [--iterations 200] > after.txt && diff before.txt after.txt

Each line: a configuration, then the SHA-256 of every tensor in the final checkpoint's
``state_dict`` and optimizer states (in key order). Runs on CPU, one thread, metrics off (their
reference set-up is not part of training), CSV logger.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("WANDB_MODE", "offline")

from hydra import compose, initialize_config_dir  # noqa: E402

from gans.train import CONF_DIR, train  # noqa: E402

SMALL = ["model.generator.base_channels=16", "model.discriminator.base_channels=16"]
CASES = {
    "dcgan (default)": [],
    "wgan_gp": ["model=wgan_gp", *SMALL],
    "r1gan": ["model=r1gan", *SMALL],
    "pack2": ["model.pack=2"],
    "conditional": ["model.num_classes=10"],
    "simultaneous": ["model.updates=simultaneous"],
    "wgan": ["model=wgan", "model.critic_boost.first=3", *SMALL],
    "r1_every4": ["model=r1gan", "regularizer.r1.every=4", *SMALL],
    "gan2d_consensus": ["model=gan2d", "data=ring", "regularizer=[consensus,instance_noise]"],
    "gan_mlp_ema": ["model=gan", "ema.enabled=true", "optimizer=ttur"],
}


def _bytes(value: torch.Tensor) -> bytes:
    return value.detach().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()


def digest(path: Path) -> str:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    h = hashlib.sha256()
    for key, value in ckpt["state_dict"].items():
        h.update(key.encode())
        h.update(_bytes(value))
    for state in ckpt["optimizer_states"]:
        for slot in state["state"].values():
            for name, value in slot.items():
                h.update(name.encode())
                h.update(_bytes(torch.as_tensor(value)))
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, overrides in CASES.items():
        if args.only and name.split()[0] not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
                cfg = compose(
                    config_name="train",
                    overrides=[
                        *overrides,
                        f"iterations={args.iterations}",
                        "metrics=none",
                        "logger=csv",
                        "trainer.enable_progress_bar=false",
                        "trainer.enable_model_summary=false",
                        f"paths.run_dir={tmp}",
                    ],
                )
            train(cfg)
            print(f"{name:<18} {digest(Path(tmp) / 'checkpoints' / 'last.ckpt')}", flush=True)


if __name__ == "__main__":
    main()
