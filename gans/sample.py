"""`python -m gans.sample ckpt=<file>`: what a saved generator makes, and whether it memorized.

Writes to ``out``: ``grid.png`` (samples), ``interpolation.png`` (each row walks the latent space
between two random z: spherical interpolation for a normal prior, linear for a uniform one; a
continuous latent space gives gradual changes) and ``neighbours.png`` (each row: a sample, then
its ``k`` nearest training images by pixel L2: copies of training images would show up here);
for GAN-family games ``truncation.png`` (the same latents truncated at each of
``truncation_sweep``'s thresholds, one row each; ``truncation=<t>`` truncates the grid too; for
style-based generators the rows are ``truncation_psi_sweep``'s psi in w space instead, and
``truncation_psi=<psi>`` truncates every image) and ``style_mixing.png``, for
games with latent traversals (VAE, InfoGAN) ``traversal.png``, and for games that reconstruct
(VAE) ``reconstruction.png`` (pairs of columns: a training image, then its reconstruction).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from torchvision.utils import save_image

from gans import restore
from gans.cli import command, reports_config_errors
from gans.configs import CONF_DIR
from gans.errors import ConfigError
from gans.games.abilities import Traverses, Truncates
from gans.metrics.reference import real_images
from gans.prior import LatentPrior
from gans.validate import check_required


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows of ``a`` and ``b`` at fractions ``t`` (White 2016)."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def interpolate(a: Tensor, b: Tensor, steps: int, spherical: bool) -> Tensor:
    """(rows, steps, dim): ``steps`` points from each ``a[i]`` to ``b[i]``, endpoints included."""
    t = torch.linspace(0, 1, steps)[None, :, None]
    a, b = a[:, None, :], b[:, None, :]
    return slerp(a, b, t) if spherical else (1 - t) * a + t * b


def nearest(samples: Tensor, reals: Tensor, k: int) -> Tensor:
    """Indices (n, k) of each sample's ``k`` nearest rows of ``reals`` in pixel L2."""
    distances = torch.cdist(samples.flatten(1).float(), reals.flatten(1).float())
    return distances.topk(k, largest=False).indices


def to_unit(images: Tensor) -> Tensor:
    return (images.float().clamp(-1, 1) + 1) / 2


def truncation_sweep(
    model: Any, prior: LatentPrior, thresholds: list[float | None], columns: int, cfg: DictConfig
) -> Tensor:
    """Rows of the same ``columns`` latents (and classes) truncated at each threshold in turn,
    None first (untruncated): quality against variety as the threshold shrinks."""
    rows = []
    classes = int(getattr(model, "num_classes", 0) or 0)
    labels = torch.arange(columns) % classes if classes else None
    for threshold in thresholds:
        rng = torch.Generator().manual_seed(int(cfg.seed))
        z = prior.truncated(columns, None if threshold is None else float(threshold), generator=rng)
        made = model.sample(columns, labels=labels, inputs=z, generator=rng, ema=bool(cfg.ema))
        rows.append(made.cpu())
    return torch.cat(rows)


def psi_sweep(
    model: Any, prior: LatentPrior, psis: list[float], columns: int, cfg: DictConfig
) -> Tensor:
    """Rows of the same ``columns`` latents at each truncation psi in turn (w_avg + psi (w -
    w_avg), Karras et al. 2019, Fig. 8): psi 1 is untruncated, psi 0 the average image."""
    rows, chosen = [], model.truncation_psi
    try:
        for psi in psis:
            model.truncation_psi = float(psi)
            rng = torch.Generator().manual_seed(int(cfg.seed))
            z = prior.sample(columns, "cpu", generator=rng)
            rows.append(model.sample(columns, inputs=z, generator=rng, ema=bool(cfg.ema)).cpu())
    finally:
        model.truncation_psi = chosen
    return torch.cat(rows)


@torch.no_grad()
def sample(cfg: DictConfig) -> dict[str, Any]:
    check_required(cfg)
    overrides = {"data": OmegaConf.to_container(cfg.data)} if cfg.data else None
    run, model, iteration = restore.restore(cfg.ckpt, overrides)
    if model.translates:
        raise ConfigError(
            f"ckpt={cfg.ckpt} holds model={run.model.get('name')}, a translation model: use "
            "python -m gans.translate ckpt=<file> input=<folder> output=<folder>"
        )
    psi = cfg.get("truncation_psi")
    if psi is not None:
        if not isinstance(model, Truncates):
            raise ConfigError(
                f"truncation_psi={psi} needs a style-based generator (model=stylegan2); "
                "for this model use truncation=<threshold> (the truncation trick on z)"
            )
        model.truncation_psi = float(psi)
    device = restore.device(cfg.device)
    model.to(device)
    rng = torch.Generator().manual_seed(int(cfg.seed))

    def draw(z: Tensor) -> Tensor:
        return model.sample(z.shape[0], inputs=z, generator=rng, ema=bool(cfg.ema)).cpu()

    default = Path(cfg.ckpt).resolve().parent.parent / "samples" / Path(cfg.ckpt).stem
    out = Path(cfg.out) if cfg.out else default
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    prior = getattr(model, "prior", None)  # games that sample from a latent space
    truncation = cfg.get("truncation")
    if truncation is not None and not isinstance(prior, LatentPrior):
        raise ConfigError("truncation=... needs a generator with a plain latent prior (GAN family)")
    if truncation is not None:
        samples = draw(prior.truncated(int(cfg.num), float(truncation), generator=rng))
    else:
        samples = model.sample(int(cfg.num), generator=rng, ema=bool(cfg.ema)).cpu()
    if samples.dim() != 4:
        raise ConfigError("gans.sample draws image grids; this generator does not make images")
    written["grid"] = out / "grid.png"
    save_image(to_unit(samples), written["grid"], nrow=int(cfg.nrow), padding=2)

    if isinstance(model, Truncates):
        written["truncation"] = out / "truncation.png"
        sweep = psi_sweep(model, prior, cfg.truncation_psi_sweep, int(cfg.nrow), cfg)
        save_image(to_unit(sweep), written["truncation"], nrow=int(cfg.nrow), padding=2)
        written["style_mixing"] = out / "style_mixing.png"
        mixing, per_row = model.style_mixing_grid(seed=int(cfg.seed))
        save_image(to_unit(mixing.cpu()), written["style_mixing"], nrow=per_row, padding=2)
    elif isinstance(prior, LatentPrior):
        written["truncation"] = out / "truncation.png"
        sweep = truncation_sweep(model, prior, cfg.truncation_sweep, int(cfg.nrow), cfg)
        save_image(to_unit(sweep), written["truncation"], nrow=int(cfg.nrow), padding=2)
    if prior is not None:
        rows, steps = int(cfg.interpolations), int(cfg.steps)
        ends = prior.sample(2 * rows, "cpu", generator=rng)
        path = interpolate(ends[:rows], ends[rows:], steps, spherical=prior.kind == "normal")
        written["interpolation"] = out / "interpolation.png"
        strip = draw(path.reshape(rows * steps, -1))
        save_image(to_unit(strip), written["interpolation"], nrow=steps, padding=2)

    if isinstance(model, Traverses):
        written["traversal"] = out / "traversal.png"
        steps = int(cfg.steps)
        save_image(to_unit(model.traversal(steps).cpu()), written["traversal"], nrow=steps)

    data = restore.datamodule(run)
    reals = torch.cat([x for x, _ in real_images(data, int(cfg.search))])
    if model.reconstructs:
        given = reals[: int(cfg.num)]
        made = model.sample(len(given), inputs=given, ema=bool(cfg.ema)).cpu()
        written["reconstruction"] = out / "reconstruction.png"
        pairs = torch.stack([given, made], 1).flatten(0, 1)
        save_image(to_unit(pairs), written["reconstruction"], nrow=max(2, int(cfg.nrow) // 2 * 2))
    queries = samples[: int(cfg.neighbours)]
    idx = nearest(queries, reals, int(cfg.k))
    rows_ = torch.cat([torch.cat([q[None], reals[i]]) for q, i in zip(queries, idx, strict=True)])
    written["neighbours"] = out / "neighbours.png"
    save_image(to_unit(rows_), written["neighbours"], nrow=int(cfg.k) + 1, padding=2)
    return {"iteration": iteration, **{k: str(v) for k, v in written.items()}}


@command
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="sample")
@reports_config_errors
def main(cfg: DictConfig) -> None:
    written = sample(cfg)
    print(f"iteration {written.pop('iteration')}:")
    for name, path in written.items():
        print(f"  {name:<14} {path}")


if __name__ == "__main__":
    main()
