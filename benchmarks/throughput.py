"""Iterations/s of `gans.train` against a plain PyTorch loop on the same networks, data and loss.

    python benchmarks/throughput.py                     # or: make bench
    python benchmarks/throughput.py --models dcgan --iterations 400 --repeats 3

For each model (DCGAN, WGAN-GP, the MLP GAN, the notes' VAE and its convolutional variant,
InfoGAN, cGAN, cDCGAN, ACGAN, SAGAN, BigGAN, Pix2Pix, CycleGAN, VQGAN, StyleGAN2, ProGAN) both
contenders get the same networks (built from the model's config, same seed), the same
optimizers, the same objective object, the same 32x32 digits tensor and the model's batch size:

* **plain**: the loop a lab writes: a shuffled ``DataLoader`` over a ``TensorDataset``, the
  family's steps written inline (a D step, n_critic of them for WGAN-GP with its gradient
  penalty, ProGAN's at full resolution with its gradient penalty and drift, then a G step, both
  given the batch's labels for the conditional SAGAN and BigGAN, and the moving average of G
  after each G step; the VAE's one step; InfoGAN's D+Q step then G step; Pix2Pix's D then G
  step and CycleGAN's generators then discriminators step, as the reference code orders them,
  on digit folders; StyleGAN2's four phases as stylegan2-ada-pytorch runs them, with its moving
  average of G), and ``loss.item()`` printed every ``log_every`` iterations;
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
from gans.errors import ConfigError  # noqa: E402
from gans.train import CONF_DIR, train  # noqa: E402

# WGAN-GP on digits has no preset: give it the width of the DCGAN digits preset (16), so the
# three models cost seconds, not minutes, per run on two cores.
WIDTH_16 = ["model.generator.base_channels=16", "model.discriminator.base_channels=16"]
# SAGAN and BigGAN at ch = 16 (blocks 64 wide instead of 256) for the same reason.
PER_MODEL = {"wgan_gp": WIDTH_16, "cdcgan": WIDTH_16, "acgan": WIDTH_16, "sagan": WIDTH_16,
             "biggan": WIDTH_16}  # fmt: skip
# Translation on folders of digits written once (A: the digit, B: its negative; CycleGAN's two
# domains: halves of the digits, one half negated), at the sizes of experiments/image_to_image,
# batch 16, without the random jitter (the plain loop reads the same decoded tensors and
# augments nothing).
FOLDERS = tempfile.mkdtemp(prefix="bench-translation-")
TRANSLATION = ["data.image_size=32", "data.channels_a=1", "data.channels_b=1", "data.hflip=false",
               "data.batch_size=16", "metrics.translation.domain=mnist"]  # fmt: skip
PER_MODEL["pix2pix"] = ["data=paired_folder", f"data.root={FOLDERS}/paired", *TRANSLATION,
                        "model.generator.base_channels=32",
                        "model.discriminator.base_channels=32"]  # fmt: skip
PER_MODEL["cyclegan"] = ["data=unpaired_folder", f"data.root={FOLDERS}/unpaired", *TRANSLATION,
                         "model.generator_ab.base_channels=16", "model.generator_ab.n_blocks=6",
                         "model.discriminator_a.base_channels=16"]  # fmt: skip
# VQGAN stage 1 as experiments/vqgan trains it (batch 32, the classifier perceptual loss), with the
# discriminator on from the start: the full iteration, adaptive weight included.
PER_MODEL["vqgan"] = ["model.disc_start=0", "data.holdout=200", "metrics=none"]
# StyleGAN2 at 32x32 with the widths of experiments/small_data (32 down to 16 channels, z and w
# 64): every phase of the `auto` spec (lazy R1, path length, style mixing, EMA) at CPU size.
# ProGAN grown to 32x32 within the warm-up (one image per phase), then timed at full
# resolution, where its iteration is WGAN-GP + drift; the widths of experiments/small_data.
PER_MODEL["progan"] = ["model.generator.channel_base=512", "model.generator.channel_max=32",
                       "model.latent.dim=64", "model.schedule.fade_images=1",
                       "model.schedule.stable_images=1"]  # fmt: skip
PER_MODEL["stylegan2"] = ["model.generator.channel_base=512", "model.generator.channel_max=32",
                          "model.latent.dim=64", "model.generator.w_dim=64"]  # fmt: skip
#: heavier iterations get a third of the run (WGAN-GP: 5 critic steps with a double backward;
#: InfoGAN: the paper's 17M-parameter MNIST networks; SAGAN and BigGAN: ResNets, BigGAN with 4
#: D steps per iteration)
# Two named settings of DCGAN: the paper's width (64 channels, as Radford et al. on 64x64) and the
# data=mnist preset's (G 32, D 16, EMA; conf/preset/dcgan_mnist.yaml), both on the 32x32 digits.
ALIASES = {
    "dcgan64": ("dcgan", ["model.generator.base_channels=64",
                          "model.discriminator.base_channels=64"]),
    "dcgan_mnist": ("dcgan", ["model.generator.base_channels=32",
                              "model.discriminator.base_channels=16", "optimizer.lr=1.84e-3",
                              "ema.enabled=true", "ema.decay=0.99"]),
}  # fmt: skip
SHORTER = ("wgan_gp", "infogan", "sagan", "biggan", "cyclegan", "vqgan", "stylegan2", "progan")
#: where the plain loop runs: the device gans.train picks (trainer.accelerator=auto)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
#: a loop body: one labelled batch in; the losses when it closed a generator iteration, else None
Step = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, ...] | None"]


def config(model: str, iterations: int, extra: list[str]) -> DictConfig:
    run_dir = tempfile.mkdtemp(prefix=f"bench-{model}-")
    model, named = ALIASES.get(model, (model, []))
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[
                f"model={model}", "data=digits", f"iterations={iterations}",
                "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
                f"paths.run_dir={run_dir}", *PER_MODEL.get(model, []), *named, *extra,
            ],
        )  # fmt: skip


def gradient_penalty(D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Gulrajani et al. 2017, written inline as a lab would."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def two_players(cfg: DictConfig) -> tuple[Any, ...]:
    """(G, D, the objective, G's optimizer, D's optimizer) from the model's config."""
    G, D = (
        instantiate(cfg.model.generator).to(DEVICE),
        instantiate(cfg.model.discriminator).to(DEVICE),
    )
    objective = instantiate(cfg.loss)
    opt_g = instantiate(cfg.optimizer.generator)(G.parameters())
    opt_d = instantiate(cfg.optimizer.discriminator)(D.parameters())
    return G, D, objective, opt_g, opt_d


@torch.no_grad()
def average(G_ema: torch.nn.Module, G: torch.nn.Module, decay: float) -> None:
    """G_ema <- decay G_ema + (1 - decay) G, buffers copied (decay 0: a copy)."""
    for p_ema, p in zip(G_ema.state_dict().values(), G.state_dict().values(), strict=True):
        if p_ema.is_floating_point():
            p_ema.lerp_(p, 1 - decay)
        else:
            p_ema.copy_(p)


def plain_gan(cfg: DictConfig) -> Step:
    """The GAN lab loop's body: a D step (n_critic of them for WGAN-GP, with its gradient
    penalty written inline), then a G step."""
    G, D, objective, opt_g, opt_d = two_players(cfg)
    gp_weight = cfg.regularizer.get("gradient_penalty", {}).get("weight", 0)
    clip = cfg.regularizer.get("weight_clip", {}).get("clip")
    drift = cfg.regularizer.get("drift", {}).get("epsilon", 0)  # ProGAN's
    dim, n_critic = cfg.model.latent.dim, cfg.model.n_critic
    conditional = int(cfg.model.get("num_classes", 0) or 0) > 0
    ema = cfg.get("ema", {})
    G_ema = copy.deepcopy(G).requires_grad_(False) if ema.get("enabled") else None
    d_steps = g_steps = 0

    def step(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
        nonlocal d_steps, g_steps
        y = labels if conditional else None
        fake = G(torch.randn(x.shape[0], dim, device=DEVICE), y).detach()
        real_out = D(x, y)
        loss_d = objective.d_loss(real_out, D(fake, y))
        if drift:
            loss_d = loss_d + drift * (real_out**2).mean()
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
            average(G_ema, G, ema.decay if g_steps >= ema.get("start", 0) else 0.0)
        g_steps += 1
        return loss_d, loss_g

    return step


def plain_acgan(cfg: DictConfig) -> Step:
    """ACGAN's loop body (Odena et al. 2017) as a lab writes it: D judges and classifies real
    and generated images (the batch's labels given to G), one step on the adversarial loss plus
    both cross-entropies; then G's step on its adversarial loss plus its samples' cross-entropy."""
    G, D, objective, opt_g, opt_d = two_players(cfg)
    dim, weight = cfg.model.latent.dim, cfg.model.class_weight
    ema = cfg.get("ema", {})
    G_ema = copy.deepcopy(G).requires_grad_(False) if ema.get("enabled") else None

    def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = G(torch.randn(x.shape[0], dim, device=DEVICE), y).detach()
        real_out, real_cls = D.judge_and_classify(x)
        fake_out, fake_cls = D.judge_and_classify(fake)
        loss_d = objective.d_loss(real_out, fake_out) + weight * (
            F.cross_entropy(real_cls, y) + F.cross_entropy(fake_cls, y)
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out, cls = D.judge_and_classify(G(torch.randn(x.shape[0], dim, device=DEVICE), y))
        loss_g = objective.g_loss(out) + weight * F.cross_entropy(cls, y)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if G_ema is not None:
            average(G_ema, G, ema.decay)
        return loss_d, loss_g

    return step


def plain_vae(cfg: DictConfig) -> Step:
    """The VAE loop's body: encode, reparameterise, decode, beta * BCE (summed over the pixels
    as Kingma & Welling's ELBO, or averaged as the notes' lab 01) + KL, one Adam step over both
    networks."""
    encoder = instantiate(cfg.model.encoder).to(DEVICE)
    decoder = instantiate(cfg.model.decoder).to(DEVICE)
    params = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=cfg.optimizer.lr,
                                 betas=(cfg.optimizer.beta1, cfg.optimizer.beta2))  # fmt: skip
    beta = cfg.model.beta
    summed = cfg.model.get("reconstruction", "sum") == "sum"

    def step(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mu, log_var = encoder(x)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        target = (x + 1) / 2
        reconstruction = F.binary_cross_entropy_with_logits(decoder(z), target, reduction="sum")
        reconstruction = reconstruction / (x.shape[0] if summed else target.numel())
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


def write_translation_folders() -> None:
    """The digits as Pix2Pix pairs (digit | its negative, side by side) and as CycleGAN's two
    domains (the odd digits; the even ones' negatives), in the folder layouts."""
    from PIL import Image

    if os.path.isdir(f"{FOLDERS}/paired/train"):
        return
    dm = DigitsDataModule(image_size=32, batch_size=1)
    dm.setup()
    pixels = ((dm.dataset.images[:, 0] + 1) * 127.5).round().byte().numpy()
    for folder in ("paired/train", "paired/test", *(f"unpaired/{s}{d}" for s in ("train", "test")
                                                     for d in "AB")):  # fmt: skip
        os.makedirs(f"{FOLDERS}/{folder}")
    for i, digit in enumerate(pixels):  # the held-out splits (for the metrics): the last 200
        pair = Image.new("L", (64, 32))
        pair.paste(Image.fromarray(digit), (0, 0))
        pair.paste(Image.fromarray(255 - digit), (32, 0))
        pair.save(f"{FOLDERS}/paired/{'train' if i < 1597 else 'test'}/{i:04d}.png")
        domain = ("train" if i < 1597 else "test") + ("A" if i % 2 else "B")
        Image.fromarray(digit if i % 2 else 255 - digit).save(
            f"{FOLDERS}/unpaired/{domain}/{i:04d}.png"
        )


def plain_pix2pix(cfg: DictConfig) -> Step:
    """The reference code's Pix2Pix iteration: G(a); a D step on (D(a, b), D(a, G(a))) x 0.5;
    a G step on the GAN term + lambda * L1 with D's parameters frozen."""
    G = instantiate(cfg.model.generator).to(DEVICE)
    D = instantiate(cfg.model.discriminator).to(DEVICE)
    objective = instantiate(cfg.loss)
    opt_g = instantiate(cfg.optimizer.generator)(G.parameters())
    opt_d = instantiate(cfg.optimizer.discriminator)(D.parameters())
    weight = cfg.model.lambda_l1

    def step(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = G(a)
        loss_d = 0.5 * objective.d_loss(
            D(torch.cat([a, b], 1)), D(torch.cat([a, fake.detach()], 1))
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        loss_g = objective.g_loss(D(torch.cat([a, fake], 1))) + weight * F.l1_loss(fake, b)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        return loss_d, loss_g

    return step


def plain_cyclegan(cfg: DictConfig, domain_b: torch.Tensor) -> Step:
    """The reference code's CycleGAN iteration: both generators' step (LSGAN terms, cycle and
    identity L1) with the discriminators frozen, then both discriminators' step on real images
    and fakes from a 50-image pool (a Python list, as the reference's ImagePool); the B image of
    each pair drawn at random."""
    m = cfg.model
    G, F_ = instantiate(m.generator_ab).to(DEVICE), instantiate(m.generator_ba).to(DEVICE)
    D_A, D_B = instantiate(m.discriminator_a).to(DEVICE), instantiate(m.discriminator_b).to(DEVICE)
    factory_g = instantiate(cfg.optimizer.generators)
    factory_d = instantiate(cfg.optimizer.discriminators)
    opt_g = factory_g([*G.parameters(), *F_.parameters()])
    opt_d = factory_d([*D_A.parameters(), *D_B.parameters()])
    pools: dict[str, list[torch.Tensor]] = {"a": [], "b": []}
    domain_b = domain_b.to(DEVICE)

    def mse(pred: torch.Tensor, target: float) -> torch.Tensor:
        return F.mse_loss(pred, torch.full_like(pred, target))

    def query(pool: list[torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        out = []
        for image in images.detach():
            if len(pool) < m.pool_size:
                pool.append(image)
                out.append(image)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(m.pool_size, ()))
                out.append(pool[i].clone())
                pool[i] = image
            else:
                out.append(image)
        return torch.stack(out)

    def step(a: torch.Tensor, _: torch.Tensor) -> tuple[torch.Tensor, ...]:
        b = domain_b[torch.randint(domain_b.shape[0], (a.shape[0],), device=DEVICE)]
        D_A.requires_grad_(False)
        D_B.requires_grad_(False)
        fake_b, fake_a = G(a), F_(b)
        loss_g = (
            mse(D_B(fake_b), 1.0) + mse(D_A(fake_a), 1.0)
            + m.lambda_a * F.l1_loss(F_(fake_b), a) + m.lambda_b * F.l1_loss(G(fake_a), b)
            + m.lambda_identity
            * (m.lambda_b * F.l1_loss(G(b), b) + m.lambda_a * F.l1_loss(F_(a), a))
        )  # fmt: skip
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D_A.requires_grad_(True)
        D_B.requires_grad_(True)
        past_a, past_b = query(pools["a"], fake_a), query(pools["b"], fake_b)
        loss_d = 0.5 * (mse(D_A(a), 1.0) + mse(D_A(past_a), 0.0)) + 0.5 * (
            mse(D_B(b), 1.0) + mse(D_B(past_b), 0.0)
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        return loss_d, loss_g

    return step


def plain_vqgan(cfg: DictConfig, dm: DigitsDataModule) -> Step:
    """taming-transformers' VQGAN iteration, after disc_start: encode, quantize (codebook +
    beta-weighted commitment), decode; an autoencoder step on L1 + perceptual + codebook terms +
    the adaptively weighted hinge G term (D frozen); a D step on the hinge loss."""
    from gans.metrics.measurement import Measurement
    from gans.perceptual import build_perceptual

    parts = [instantiate(cfg.model[k]).to(DEVICE) for k in ("encoder", "quantizer", "decoder")]
    encoder, quantizer, decoder = parts
    D = instantiate(cfg.model.discriminator).to(DEVICE)
    perceptual = build_perceptual(cfg.model.perceptual.kind, Measurement(cfg, dm)).to(DEVICE)
    opt_ae = instantiate(cfg.optimizer.autoencoder)([p for m in parts for p in m.parameters()])
    opt_d = instantiate(cfg.optimizer.discriminator)(D.parameters())
    weight, last = cfg.model.disc_weight, decoder.conv_out.weight

    def step(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        q = quantizer(encoder(x))
        made = decoder(q.z_q)
        rec = (x - made).abs().mean() + perceptual(x, made).mean()
        D.requires_grad_(False)
        gan = -D(made).mean()
        g_rec = torch.autograd.grad(rec, last, retain_graph=True)[0]
        g_gan = torch.autograd.grad(gan, last, retain_graph=True)[0]
        adaptive = (g_rec.norm() / (g_gan.norm() + 1e-4)).clamp(0, 1e4).detach()
        loss = rec + q.codebook + q.commitment + weight * adaptive * gan
        opt_ae.zero_grad(set_to_none=True)
        loss.backward()
        opt_ae.step()
        D.requires_grad_(True)
        made = made.detach()
        loss_d = F.relu(1 - D(x)).mean() + F.relu(1 + D(made)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        return loss, loss_d

    return step


def plain_stylegan2(cfg: DictConfig) -> Step:
    """stylegan2-ada-pytorch's iteration written as one loop body: Dmain (logistic loss on style-
    mixed fakes), Dreg every 16th batch (R1 times 16), Gmain, Greg every 4th (path length on half
    a batch times 4), then G's moving average; both Adams with the lazy lr/beta correction."""
    G = instantiate(cfg.model.generator).to(DEVICE)
    D = instantiate(cfg.model.discriminator).to(DEVICE)
    G_ema = copy.deepcopy(G).requires_grad_(False).eval()
    r1, pl = cfg.regularizer.r1, cfg.regularizer.path_length
    opts = []
    for net, every, key in ((D, r1.every, "discriminator"), (G, pl.every, "generator")):
        c = every / (every + 1)
        settings = cfg.optimizer[key]
        opts.append(torch.optim.Adam(net.parameters(), lr=settings.lr * c,
                                     betas=tuple(b**c for b in settings.betas)))  # fmt: skip
    opt_d, opt_g = opts
    dim, mixing, beta = cfg.model.latent.dim, cfg.model.style_mixing, cfg.ema.decay
    pl_mean = torch.zeros((), device=DEVICE)
    batches = 0

    def styles(n: int) -> torch.Tensor:
        z, z2 = torch.randn(n, dim, device=DEVICE), torch.randn(n, dim, device=DEVICE)
        cutoff = torch.randint(1, G.num_ws, (n,), device=DEVICE)
        cutoff = torch.where(torch.rand(n, device=DEVICE) < mixing, cutoff, G.num_ws)
        return G.ws(z, mix=z2, cutoff=cutoff)

    def step(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        nonlocal batches, pl_mean
        batches += 1
        with torch.no_grad():
            fake = G.synthesis(styles(x.shape[0]))
        loss_d = F.softplus(D(fake)).mean() + F.softplus(-D(x)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if batches % r1.every == 0:
            real = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
            penalty = grad.square().sum(dim=(1, 2, 3)).mean() * (r1.gamma / 2) * r1.every
            opt_d.zero_grad(set_to_none=True)
            penalty.backward()
            opt_d.step()
        loss_g = F.softplus(-D(G.synthesis(styles(x.shape[0])))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if batches % pl.every == 0:
            ws = styles(x.shape[0] // pl.batch_shrink)
            images = G.synthesis(ws)
            noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
            (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
            lengths = grad.square().sum(2).mean(1).sqrt()
            pl_mean = pl_mean.lerp(lengths.mean().detach(), pl.decay)
            loss = (lengths - pl_mean).square().mean() * pl.weight * pl.every
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
        with torch.no_grad():
            for p_ema, p in zip(G_ema.state_dict().values(), G.state_dict().values(), strict=True):
                p_ema.lerp_(p, 1 - beta)
        return loss_d, loss_g

    return step


PLAIN = {"gan": plain_gan, "progan": plain_gan, "vae": plain_vae, "infogan": plain_infogan,
         "pix2pix": plain_pix2pix, "acgan": plain_acgan}  # fmt: skip


def tensors(cfg: DictConfig) -> tuple[torch.Tensor, torch.Tensor, Step]:
    """What the plain loop's DataLoader serves (images and labels, or A and B) and its body."""
    family = cfg.model._target_.split(".")[-2]  # gans.games.<family>.<Game>
    if family in ("pix2pix", "cyclegan"):
        dm = instantiate(cfg.data.datamodule)
        dm.setup()
        if family == "pix2pix":
            stacked = dm.dataset.images.float() / 127.5 - 1
            return stacked[:, :1], stacked[:, 1:], plain_pix2pix(cfg)
        a, b = (t.float() / 127.5 - 1 for t in (dm.dataset.a, dm.dataset.b))
        return a, torch.zeros(a.shape[0]), plain_cyclegan(cfg, b)
    dm = DigitsDataModule(image_size=cfg.data.image_size, batch_size=cfg.data.batch_size)
    dm.setup()
    if family == "vqgan":
        dm.holdout = cfg.data.holdout  # the same training part, and the classifier trained on it
        dm.hold_out()
        return dm.dataset.images, dm.dataset.labels, plain_vqgan(cfg, dm)
    if family == "stylegan2":
        return dm.dataset.images, dm.dataset.labels, plain_stylegan2(cfg)
    return dm.dataset.images, dm.dataset.labels, PLAIN[family](cfg)


def plain_loop(
    cfg: DictConfig, warmup: int, on_iteration: Callable[[int], None] | None = None
) -> float:
    """Iterations/s of the hand-written loop after ``warmup`` iterations: a shuffled
    ``DataLoader`` over a ``TensorDataset`` and the family's loop body, ``loss.item()`` printed
    every ``log_every`` iterations; ``on_iteration(i)`` after each (the profiler's window)."""
    torch.manual_seed(cfg.seed)
    first, second, step = tensors(cfg)
    loader = DataLoader(
        TensorDataset(first, second),
        batch_size=cfg.data.batch_size, shuffle=True, drop_last=True,
    )  # fmt: skip
    iteration, iterations, started = 0, cfg.iterations, None
    while iteration < iterations:
        for x, y in loader:
            losses = step(x.to(DEVICE, non_blocking=True), y.to(DEVICE, non_blocking=True))
            if losses is None:
                continue
            iteration += 1
            if on_iteration is not None:
                on_iteration(iteration)
            if iteration % cfg.log_every == 0:
                print(f"iter {iteration} losses {[round(v.item(), 3) for v in losses]}", end="\r")
            if iteration == warmup:
                synchronize()
                started = time.perf_counter()
            if iteration >= iterations:
                break
    print(" " * 60, end="\r")
    synchronize()
    return (iterations - warmup) / (time.perf_counter() - started)


def synchronize() -> None:
    """Wait for the GPU's queue (a clock read after it counts the work, not its launch)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


class SteadyClock(L.Callback):
    """Wall time from the end of iteration ``warmup`` to the end of the second-to-last one: the
    periodic work between (sample grids, checkpoints, evaluations every N) is counted, the
    end-of-run work at the last iteration (final grid, checkpoint and evaluation) is not, as the
    plain loop has none."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.started: float | None = None
        self.rate = float("nan")

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.warmup and self.started is None:
            synchronize()
            self.started = time.perf_counter()

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        last = trainer.max_steps - 1
        if trainer.global_step == last and self.started is not None and self.rate != self.rate:
            synchronize()
            self.rate = (last - self.warmup) / (time.perf_counter() - self.started)


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
        ("generator steps", total("gans/Gmain", "gans/Greg")),
        ("VAE steps (encoder + decoder)", total("gans/VAEmain")),
        ("VQGAN autoencoder steps", total("gans/AEmain")),
        ("logging (every log_every)", total("gans/log_stats")),
        (
            "sample grids + checkpoints",
            total(
                "SampleGrid.on_train", "TranslationGrid.on_train", "IterationCheckpoint.on_train"
            ),
        ),
        # one evaluation (at the end of this short run), spread over the metrics.every iterations
        # it stands for in a real run
        (
            "metrics (one evaluation / metrics.every)",
            total("Evaluation.on_train") * n / cfg.metrics.every if cfg.metrics.every else 0.0,
        ),
    ]
    batch = total("run_training_batch")
    inside = sum(value for _, value in rows[1:6])
    rows.append(("Lightning around the training step", max(0.0, batch - inside)))
    return [(name, 1000 * value / n) for name, value in rows]


def contend(run: Callable[[], float]) -> float | str:
    """A contender's iterations/s, or the one-line reason it refused the configuration."""
    try:
        return run()
    except ConfigError as exc:
        return str(exc)


def best(rates: list[float | str]) -> float | str:
    numbers = [r for r in rates if isinstance(r, float)]
    return max(numbers) if numbers else rates[0]


def cell(rate: float | str, plain: float) -> str:
    if isinstance(rate, str):
        return f"{'refused':>16} {'-':>7}"
    return f"{rate:>16.2f} {rate / plain:>7.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models",
        default="dcgan,wgan_gp,gan,vae,vae_conv,infogan,cgan,cdcgan,acgan,sagan,biggan,pix2pix,cyclegan,"
        "vqgan,stylegan2,progan",
    )
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--no-quiet", action="store_true", help="skip gans.train logger=none")
    parser.add_argument(
        "--captured",
        action=argparse.BooleanOptionalAction,
        default=DEVICE.type == "cuda",
        help="also gans.train cuda_graphs=true (default: on a GPU)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides for both, e.g. model.generator.base_channels=32",
    )
    args = parser.parse_args()
    write_translation_folders()
    contenders = {"gans.train": []}
    if not args.no_quiet:
        contenders["logger=none"] = ["logger=none"]
    if args.captured:
        contenders["cuda_graphs"] = ["cuda_graphs=true"]
    results = []
    for model in args.models.split(","):
        iterations = args.iterations // 3 if model in SHORTER else args.iterations
        warmup = max(1, args.warmup // 3) if model in SHORTER else args.warmup
        rates: dict[str, list[float | str]] = {"plain": [], **{k: [] for k in contenders}}
        for _ in range(args.repeats):
            rates["plain"].append(plain_loop(config(model, iterations, args.overrides), warmup))
            for name, extra in contenders.items():
                cfg = config(model, iterations, [*args.overrides, *extra])
                rates[name].append(contend(lambda cfg=cfg, w=warmup: framework(cfg, w)))
        row = {name: best(values) for name, values in rates.items()}
        results.append((model, row))
        print(
            f"{model}: " + ", ".join(
                f"{k} {v:.2f} it/s" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            ),
            flush=True,
        )  # fmt: skip
        if not args.no_breakdown:
            rows = breakdown(config(model, iterations, args.overrides))
            print(f"  where gans.train spends an iteration ({model}, profiled run):")
            for name, ms in rows:
                print(f"    {name:<40} {ms:8.2f} ms")
    header = "".join(f" {name + ' it/s':>16} {'ratio':>7}" for name in contenders)
    print(f"\n{'model':<12} {'plain it/s':>11}{header}")
    for model, row in results:
        plain = row["plain"]
        cells = "".join(f" {cell(row[name], plain)}" for name in contenders)
        print(f"{model:<12} {plain:>11.2f}{cells}")
    print(
        f"(torch {torch.__version__}, {DEVICE}, {torch.get_num_threads()} threads, 32x32 digits, "
        "each model's batch size: 64, InfoGAN 128, Pix2Pix and CycleGAN 16, VQGAN 32)"
    )


if __name__ == "__main__":
    main()
