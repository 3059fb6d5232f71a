"""Iterations/s of `gans.train` against a plain PyTorch loop on the same networks, data and loss.

    python benchmarks/throughput.py                     # or: make bench
    python benchmarks/throughput.py --models dcgan --iterations 400 --repeats 3

For each model (DCGAN, WGAN-GP, the MLP GAN, the notes' VAE and its convolutional variant,
InfoGAN, SAGAN, BigGAN) both contenders get the same networks (built from the model's config,
same seed), the same optimizers, the same objective object, the same 32x32 digits tensor and
the model's batch size:

* **plain**: the loop a lab writes: a shuffled ``DataLoader`` over a ``TensorDataset``, the
  family's steps written inline (a D step, n_critic of them for WGAN-GP with its gradient
  penalty, then a G step, both given the batch's labels for the conditional SAGAN and BigGAN,
  and BigGAN's moving average of G after each G step; the VAE's one step; InfoGAN's D+Q step
  then G step), and ``loss.item()`` printed every ``log_every`` iterations;
* **gans.train**: ``train(cfg)`` with the production defaults (sample grids, checkpoints, metrics,
  W&B offline), only the run length changed. Its optimizers run torch's fused (Adam) or
  multi-tensor (RMSprop) kernels, which torch picks by itself only on CUDA; the plain loop gets
  torch's CPU default, a Python loop over the tensors, as a hand-written loop does.

Each is timed after ``--warmup`` iterations, alternately ``--repeats`` times; the best of each is
reported with their ratio. A third contender, ``gans.train logger=none``, separates the cost of
W&B's offline writer process (it shares the CPU cores with training) from the framework's own.
A separate profiled run of ``gans.train`` (Lightning's SimpleProfiler)
gives the per-iteration breakdown.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

import lightning as L  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import DictConfig  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from gans.data.digits import DigitsDataModule  # noqa: E402
from gans.train import CONF_DIR, train  # noqa: E402

# WGAN-GP on digits has no preset: give it the width of the DCGAN digits preset (16), so the
# three models cost seconds, not minutes, per run on two cores.
WIDTH_16 = ["model.generator.base_channels=16", "model.discriminator.base_channels=16"]
# SAGAN and BigGAN at ch = 16 (blocks 64 wide instead of 256) for the same reason.
PER_MODEL = {"wgan_gp": WIDTH_16, "cdcgan": WIDTH_16, "sagan": WIDTH_16, "biggan": WIDTH_16}
#: heavier iterations get a third of the run (WGAN-GP: 5 critic steps with a double backward;
#: InfoGAN: the paper's 17M-parameter MNIST networks; SAGAN and BigGAN: ResNets, BigGAN with 4
#: D steps per iteration)
SHORTER = ("wgan_gp", "infogan", "sagan", "biggan")
#: where the plain loop runs: the device gans.train picks (trainer.accelerator=auto)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
#: a loop body: one labelled batch in; the losses when it closed a generator iteration, else None
Step = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, ...] | None"]


def config(model: str, iterations: int, extra: list[str]) -> DictConfig:
    run_dir = tempfile.mkdtemp(prefix=f"bench-{model}-")
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[
                f"model={model}", "data=digits", f"iterations={iterations}",
                "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
                f"paths.run_dir={run_dir}", *PER_MODEL.get(model, []), *extra,
            ],
        )  # fmt: skip


def gradient_penalty(D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Gulrajani et al. 2017, written inline as a lab would."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def plain_gan(cfg: DictConfig) -> Step:
    """The GAN lab loop's body: a D step (n_critic of them for WGAN-GP, with its gradient
    penalty written inline), then a G step."""
    G, D = (
        instantiate(cfg.model.generator).to(DEVICE),
        instantiate(cfg.model.discriminator).to(DEVICE),
    )
    objective = instantiate(cfg.loss)
    opt_g = instantiate(cfg.optimizer.generator)(G.parameters())
    opt_d = instantiate(cfg.optimizer.discriminator)(D.parameters())
    gp_weight = cfg.regularizer.get("gradient_penalty", {}).get("weight", 0)
    clip = cfg.regularizer.get("weight_clip", {}).get("clip")
    dim, n_critic = cfg.model.latent.dim, cfg.model.n_critic
    conditional = int(cfg.model.get("num_classes", 0) or 0) > 0
    ema = cfg.get("ema", {})
    G_ema = copy.deepcopy(G).requires_grad_(False) if ema.get("enabled") else None
    d_steps = g_steps = 0

    def step(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
        nonlocal d_steps, g_steps
        y = labels if conditional else None
        fake = G(torch.randn(x.shape[0], dim, device=DEVICE), y).detach()
        loss_d = objective.d_loss(D(x, y), D(fake, y))
        if gp_weight:
            loss_d = loss_d + gp_weight * gradient_penalty(D, x, fake)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if clip:
            for p in D.parameters():
                p.data.clamp_(-clip, clip)
        d_steps += 1
        if d_steps % n_critic:
            return None
        loss_g = objective.g_loss(D(G(torch.randn(x.shape[0], dim, device=DEVICE), y), y))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if G_ema is not None:  # BigGAN-PyTorch's ema: a copy until ema_start, then an average
            decay = ema.decay if g_steps >= ema.get("start", 0) else 0.0
            with torch.no_grad():
                for p_ema, p in zip(
                    G_ema.state_dict().values(), G.state_dict().values(), strict=True
                ):
                    if p_ema.is_floating_point():
                        p_ema.lerp_(p, 1 - decay)
                    else:
                        p_ema.copy_(p)
        g_steps += 1
        return loss_d, loss_g

    return step


def plain_vae(cfg: DictConfig) -> Step:
    """The notes' lab 01 loop's body: encode, reparameterise, decode, beta * BCE + KL, one Adam
    step over both networks."""
    encoder = instantiate(cfg.model.encoder).to(DEVICE)
    decoder = instantiate(cfg.model.decoder).to(DEVICE)
    params = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=cfg.optimizer.lr,
                                 betas=(cfg.optimizer.beta1, cfg.optimizer.beta2))  # fmt: skip
    beta = cfg.model.beta

    def step(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mu, log_var = encoder(x)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        reconstruction = F.binary_cross_entropy_with_logits(decoder(z), (x + 1) / 2)
        kl = (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(0).sum()
        loss = beta * reconstruction + kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return (loss,)

    return step


def plain_infogan(cfg: DictConfig) -> Step:
    """InfoGAN's loop body as its PyTorch ports write it: codes drawn inline, D and Q step on
    the adversarial loss + the information loss, then G on both."""
    G, D, Q = (instantiate(cfg.model[k]).to(DEVICE) for k in ("generator", "discriminator", "q"))
    objective = instantiate(cfg.loss)
    opt_g = instantiate(cfg.optimizer.generator)(G.parameters())
    opt_d = instantiate(cfg.optimizer.discriminator)(D.parameters())
    opt_q = instantiate(cfg.optimizer.q)(Q.parameters())
    latent, cont_weight = cfg.model.latent, cfg.model.continuous_weight
    k = latent.categorical[0]

    def codes(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        noise = torch.rand(n, latent.dim, device=DEVICE) * 2 - 1
        c = torch.randint(k, (n,), device=DEVICE)
        cont = torch.rand(n, latent.continuous, device=DEVICE) * 2 - 1
        return torch.cat([noise, F.one_hot(c, k).float(), cont], 1), c, cont

    def information(features: torch.Tensor, c: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        (logits,), mean, _ = Q(features)
        nll = (0.5 * (cont - mean) ** 2 + 0.5 * math.log(2 * math.pi)).sum(1).mean()
        return F.cross_entropy(logits, c) + cont_weight * nll

    def step(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        z, c, cont = codes(x.shape[0])
        fake_features = D.body(G(z).detach())
        loss_d = objective.d_loss(D.head(D.body(x)).squeeze(1), D.head(fake_features).squeeze(1))
        loss_d = loss_d + information(fake_features, c, cont)
        opt_d.zero_grad(set_to_none=True)
        opt_q.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_q.step()
        opt_d.step()
        z, c, cont = codes(x.shape[0])
        features = D.body(G(z))
        loss_g = objective.g_loss(D.head(features).squeeze(1)) + information(features, c, cont)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return loss_d, loss_g

    return step


PLAIN = {"gan": plain_gan, "vae": plain_vae, "infogan": plain_infogan}


def plain_loop(cfg: DictConfig, warmup: int) -> float:
    """Iterations/s of the hand-written loop after ``warmup`` iterations: a shuffled
    ``DataLoader`` over a ``TensorDataset`` and the family's loop body, ``loss.item()`` printed
    every ``log_every`` iterations."""
    torch.manual_seed(cfg.seed)
    family = cfg.model._target_.split(".")[-2]  # gans.games.<family>.<Game>
    step = PLAIN[family](cfg)
    dm = DigitsDataModule(image_size=cfg.data.image_size, batch_size=cfg.data.batch_size)
    dm.setup()
    loader = DataLoader(
        TensorDataset(dm.dataset.images, dm.dataset.labels),
        batch_size=cfg.data.batch_size, shuffle=True, drop_last=True,
    )  # fmt: skip
    iteration, iterations, started = 0, cfg.iterations, None
    while iteration < iterations:
        for x, y in loader:
            losses = step(x.to(DEVICE, non_blocking=True), y.to(DEVICE, non_blocking=True))
            if losses is None:
                continue
            iteration += 1
            if iteration % cfg.log_every == 0:
                print(f"iter {iteration} losses {[round(v.item(), 3) for v in losses]}", end="\r")
            if iteration == warmup:
                started = time.perf_counter()
            if iteration >= iterations:
                break
    print(" " * 60, end="\r")
    return (iterations - warmup) / (time.perf_counter() - started)


class SteadyClock(L.Callback):
    """Wall time between iteration ``warmup`` and the last one."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.started: float | None = None
        self.rate = float("nan")

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.warmup and self.started is None:
            self.started = time.perf_counter()
        if trainer.global_step == trainer.max_steps and self.started is not None:
            self.rate = (trainer.max_steps - self.warmup) / (time.perf_counter() - self.started)


def framework(cfg: DictConfig, warmup: int) -> float:
    clock = SteadyClock(warmup)
    train(cfg, extra_callbacks=[clock])
    return clock.rate


class Durations(L.Callback):
    """Keeps the profiler's recorded durations when training ends."""

    def __init__(self) -> None:
        self.recorded: dict[str, list[float]] = {}

    def on_train_end(self, trainer: L.Trainer, *args: Any) -> None:
        self.recorded = dict(getattr(trainer.profiler, "recorded_durations", {}))


def breakdown(cfg: DictConfig) -> list[tuple[str, float]]:
    """Milliseconds per generator iteration by phase, from Lightning's SimpleProfiler
    (``trainer.profiler=simple``; the game marks its D step, G step and logging)."""
    cfg.trainer.profiler = {  # its report goes to a file in the run directory, not the console
        "_target_": "lightning.pytorch.profilers.SimpleProfiler",
        "dirpath": cfg.paths.run_dir,
        "filename": "profile",
    }
    durations = Durations()
    train(cfg, extra_callbacks=[durations])
    n = cfg.iterations

    def total(*needles: str) -> float:
        return sum(sum(v) for k, v in durations.recorded.items() if any(s in k for s in needles))

    rows = [
        ("data (next batch + to device)", total("train_dataloader_next", "batch_to_device")),
        ("discriminator steps", total("gans/Dmain", "gans/DGmain", "gans/Dreg")),
        ("generator steps", total("gans/Gmain")),
        ("VAE steps (encoder + decoder)", total("gans/VAEmain")),
        ("logging (every log_every)", total("gans/log_stats")),
        (
            "sample grids + checkpoints",
            total("SampleGrid.on_train", "IterationCheckpoint.on_train"),
        ),
        # one evaluation (at the end of this short run), spread over the metrics.every iterations
        # it stands for in a real run
        (
            "metrics (one evaluation / metrics.every)",
            total("Evaluation.on_train") * n / cfg.metrics.every,
        ),
    ]
    batch = total("run_training_batch")
    inside = sum(value for _, value in rows[1:5])
    rows.append(("Lightning around the training step", max(0.0, batch - inside)))
    return [(name, 1000 * value / n) for name, value in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models", default="dcgan,wgan_gp,gan,vae,vae_conv,infogan,cgan,cdcgan,sagan,biggan"
    )
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides for both, e.g. model.generator.base_channels=32",
    )
    args = parser.parse_args()
    results = []
    for model in args.models.split(","):
        iterations = args.iterations // 3 if model in SHORTER else args.iterations
        warmup = max(1, args.warmup // 3) if model in SHORTER else args.warmup
        plain, ours, quiet = [], [], []
        for _ in range(args.repeats):
            plain.append(plain_loop(config(model, iterations, args.overrides), warmup))
            ours.append(framework(config(model, iterations, args.overrides), warmup))
            quiet.append(
                framework(config(model, iterations, [*args.overrides, "logger=none"]), warmup)
            )
        results.append((model, max(plain), max(ours), max(quiet)))
        print(
            f"{model}: plain {max(plain):.2f} it/s, gans.train {max(ours):.2f} it/s, "
            f"without W&B {max(quiet):.2f} it/s",
            flush=True,
        )
        if not args.no_breakdown:
            rows = breakdown(config(model, iterations, args.overrides))
            print(f"  where gans.train spends an iteration ({model}, profiled run):")
            for name, ms in rows:
                print(f"    {name:<40} {ms:8.2f} ms")
    print(
        f"\n{'model':<10} {'plain it/s':>11} {'gans.train it/s':>16} {'ratio':>7} "
        f"{'logger=none it/s':>17} {'ratio':>7}"
    )
    for model, plain, ours, quiet in results:
        print(
            f"{model:<10} {plain:>11.2f} {ours:>16.2f} {ours / plain:>7.3f} "
            f"{quiet:>17.2f} {quiet / plain:>7.3f}"
        )
    print(
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads, 32x32 digits, each "
        "model's batch size: 64, InfoGAN 128)"
    )


if __name__ == "__main__":
    main()
