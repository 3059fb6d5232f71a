"""The two-player game as one LightningModule with manual optimization.

One *iteration* is one generator update round: ``critic_steps(i)`` discriminator steps (one per
batch) followed by ``n_gen`` generator steps. Iterations are the unit of every schedule (length,
logging, samples, checkpoints), as in the papers. Lightning counts every optimizer step as a global
step (Lightning #17958); here only the last generator step of an iteration goes through
``LightningOptimizer.step``, the others go straight to the strategy (same precision plugin, same
``on_before_optimizer_step`` hooks, no count), so ``trainer.global_step`` equals the iteration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from torch import Tensor, nn
from torch.optim import Optimizer

from gans import resume
from gans.ema import GeneratorEMA
from gans.errors import ConfigError, TrainingDiverged
from gans.losses import Objective
from gans.nets.pack import pack as pack_samples
from gans.prior import LatentPrior
from gans.regularizers import Regularizer

OptimizerFactory = Callable[..., Optimizer]
#: What the divergence check watches, in the order of ``GAN.first_nonfinite``.
DIVERGENCE = ("loss/d", "loss/g", "grad/d", "grad/g")


def _no_closure() -> None:
    return None


class GAN(L.LightningModule):
    """Unconditional or class-conditional GAN, D steps on every batch, G steps every n_critic-th.

    Args:
        generator: maps (z, y or None) to a sample.
        discriminator: maps (x, y or None) to one logit (or critic value) per sample.
        objective: maps logits to the two losses (``gans.losses``).
        g_optimizer, d_optimizer: ``torch.optim`` factories taking the parameters (Hydra partials).
        prior: the latent distribution p(z).
        n_critic: discriminator steps per generator iteration (the notes' N_disc).
        n_gen: generator steps per iteration (the notes' "update the generator 2x more").
        conditional: feed the batch labels to both networks.
        log_every: iterations between logged scalars (no host sync on the others).
        config: the resolved run configuration, stored in checkpoints as plain containers.
        regularizers: discriminator loss terms and after-step hooks (``gans.regularizers``).
        ema: exponential moving average of G (``gans.ema.GeneratorEMA`` factory) or None;
            when set, samples and metrics use the averaged generator.
        clip_grad_norm: per-player max gradient norm ({"generator": v, "discriminator": v}),
            applied in ``on_before_optimizer_step`` where AMP gradients are already unscaled.
        critic_boost: WGAN's schedule (Arjovsky et al. 2017, reference code): ``steps`` critic
            iterations before each of the first ``first`` generator iterations and every
            ``every``-th one; None or steps = 0 turns it off.
        simultaneous: update both players from gradients taken at the same parameters (the
            last D step of an iteration and the first G step share one evaluation) instead of
            alternating D then G (Mescheder et al. 2017; the notes' "Numerics of GANs").
        check_finite_every: iterations between checks that no loss or gradient norm went NaN
            or Inf (one host sync each); 0 = only before writing a checkpoint. A failed check
            stops training with :class:`~gans.errors.TrainingDiverged`.
        pack: PacGAN's packing degree m (Lin et al. 2018): D judges m samples concatenated
            (:meth:`judge`), and gradient penalties see packed inputs too; 1 = off.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        objective: Objective,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        prior: LatentPrior,
        n_critic: int = 1,
        n_gen: int = 1,
        conditional: bool = False,
        log_every: int = 50,
        config: dict[str, Any] | None = None,
        regularizers: list[Regularizer] | None = None,
        ema: Callable[[nn.Module], GeneratorEMA] | None = None,
        clip_grad_norm: dict[str, float | None] | None = None,
        critic_boost: dict[str, int] | None = None,
        simultaneous: bool = False,
        pack: int = 1,
        check_finite_every: int = 1,
    ) -> None:
        super().__init__()
        for key, value in (
            ("model.n_critic", n_critic),
            ("model.n_gen", n_gen),
            ("log_every", log_every),
        ):
            if int(value) < 1:
                raise ConfigError(f"{key}={value} must be an integer >= 1")
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.objective = objective
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.prior = prior
        self.n_critic = int(n_critic)
        self.n_gen = int(n_gen)
        self.conditional = bool(conditional)
        self.log_every = int(log_every)
        self.config = config or {}
        self.regularizers = list(regularizers or [])
        self.generator_ema = ema(generator) if ema is not None else None
        self.clip_grad_norm = {k: v for k, v in (clip_grad_norm or {}).items() if v}
        for player, value in self.clip_grad_norm.items():
            if player not in ("generator", "discriminator") or float(value) <= 0:
                raise ConfigError(
                    f"optimizer.clip_grad_norm.{player}={value}: players are generator and "
                    "discriminator, values must be > 0 (or null for no clipping)"
                )
        self.critic_boost = dict(critic_boost or {})
        self.simultaneous = bool(simultaneous)
        self.pack = int(pack)
        self._check_packing()
        self._first_g_param_id = id(next(generator.parameters()))  # not a registered parameter
        self.start_iteration = 0
        self.d_steps_this_iteration = 0
        self.d_steps_total = 0
        self._stats: dict[str, Tensor] = {}
        self._clock: tuple[float, int] | None = None
        self._saved_rng: dict[str, Any] | None = None
        # first iteration at which each of DIVERGENCE went NaN/Inf (-1: never); kept on the
        # device, updated without a host sync, read every `check_finite_every` iterations
        self.first_nonfinite = torch.full((4,), -1)
        self.check_finite_every = int(check_finite_every)
        self._check_grads = True

    # ------------------------------------------------------------------ the game
    @property
    def iteration(self) -> int:
        """Completed generator iterations (equal to ``trainer.global_step``)."""
        return self.trainer.global_step if self._trainer is not None else 0

    def critic_steps(self, iteration: int) -> int:
        """Discriminator steps before generator iteration ``iteration + 1``."""
        boost = self.critic_boost
        if boost.get("steps", 0) and (
            iteration < boost.get("first", 25) or iteration % boost.get("every", 500) == 0
        ):
            return int(boost["steps"])
        return self.n_critic

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples and metrics: the EMA copy when enabled."""
        return self.generator_ema.module if self.generator_ema is not None else self.generator

    def sample(
        self, n: int, y: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Draw ``n`` samples G(z[, y]) with z from the prior, from :attr:`sampling_generator`."""
        z = self.prior.sample(n, self.device, generator=generator)
        return self.sampling_generator(z, y if self.conditional else None)

    def configure_optimizers(self) -> list[Optimizer]:
        return [
            self.d_optimizer(self.discriminator.parameters()),
            self.g_optimizer(self.generator.parameters()),
        ]

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        cond = y if self.conditional else None
        d_opt, g_opt = self.optimizers()
        last_d_step = self.d_steps_this_iteration + 1 >= self.critic_steps(self.iteration)
        g_steps = self.n_gen
        profile = self.trainer.profiler.profile  # a no-op unless trainer.profiler is set
        if self.simultaneous and last_d_step:
            with profile("gans/simultaneous_step"):
                self.simultaneous_step(x, cond, d_opt, g_opt, counted=self.n_gen == 1)
            g_steps -= 1
        else:
            with profile("gans/discriminator_step"):
                self.discriminator_step(x, cond, d_opt)
        if not last_d_step:
            self.d_steps_this_iteration += 1
            return
        self.d_steps_this_iteration = 0
        with profile("gans/generator_step"):
            for k in range(g_steps):
                self.generator_step(x, cond, g_opt, counted=k == g_steps - 1)
            if self.generator_ema is not None:
                self.generator_ema.update(self.generator, self.iteration)
        if self.iteration % self.log_every == 0:
            with profile("gans/log_stats"):
                self.log_stats()
        if self.check_finite_every and self.iteration % self.check_finite_every == 0:
            self.raise_if_diverged()

    def _check_packing(self) -> None:
        if self.pack < 1:
            raise ConfigError(f"model.pack={self.pack} must be an integer >= 1")
        if self.pack == 1:
            return
        if self.conditional:
            raise ConfigError(
                f"model.pack={self.pack} with model.num_classes > 0: a packed discriminator has no "
                "single label per input; packing is for unconditional models"
            )
        joint = [r.name for r in self.regularizers if r.joint]
        if joint:
            raise ConfigError(
                f"model.pack={self.pack} cannot run regularizer.{joint[0]}, which evaluates D "
                "on unpacked samples; use model.pack=1"
            )

    def judge(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D's output on a batch as D sees it: perturbed (instance noise) and packed, one value
        per ``pack`` samples."""
        return self.discriminator(pack_samples(self.perturb(x), self.pack), y)

    def perturb(self, x: Tensor) -> Tensor:
        """What D sees of a real or generated batch (instance noise, when configured)."""
        for reg in self.regularizers:
            x = reg.perturb(x)
        return x

    def discriminator_loss(
        self, x: Tensor, fake: Tensor, y: Tensor | None
    ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """objective.d(D(x), D(G(z))) + the regularizers' terms; returns (loss, D(G(z)), stats)."""
        real_out = self.judge(x, y)
        fake_out = self.judge(fake, y)
        loss = self.objective.d_loss(real_out, fake_out)
        stats = {"loss/d": loss.detach(), "D(x)": real_out.detach(), "D(G(z))": fake_out.detach()}
        self.d_steps_total += 1
        for reg in self.regularizers:
            if self.d_steps_total % reg.every:
                continue
            if reg.joint:
                term = self._joint_penalty(reg, x, y)
            else:
                term = reg.penalty(
                    self.discriminator,
                    pack_samples(x, self.pack),
                    pack_samples(fake, self.pack),
                    y,
                    real_out,
                    fake_out,
                )
            if term is not None:
                loss = loss + reg.every * term
                stats[f"reg/{reg.name}"] = term.detach()
        return loss, fake_out, stats

    def _joint_penalty(self, reg: Regularizer, x: Tensor, y: Tensor | None) -> Tensor:
        z = self.prior.sample(x.shape[0], self.device)
        return reg.joint_penalty(self.generator, self.discriminator, self.objective, x, z, y)

    def add_joint_terms(self, g_loss: Tensor, x: Tensor, y: Tensor | None) -> Tensor:
        """g_loss plus the terms that need both players' gradients (consensus), if any."""
        for reg in self.regularizers:
            if reg.joint:
                g_loss = g_loss + self._joint_penalty(reg, x, y)
        return g_loss

    def discriminator_step(self, x: Tensor, y: Tensor | None, opt: Any) -> None:
        """One step on the discriminator loss with G(z) held fixed."""
        self.toggle_optimizer(opt)
        with torch.no_grad():
            fake = self.generator(self.prior.sample(x.shape[0], self.device), y)
        loss, _, stats = self.discriminator_loss(x, fake, y)
        self.note_finite(0, loss)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self.step(opt, counted=False)
        for reg in self.regularizers:
            reg.after_step(self.discriminator)
        self.untoggle_optimizer(opt)
        self._stats.update(stats)

    def generator_step(self, x: Tensor, y: Tensor | None, opt: Any, counted: bool) -> None:
        """One step on g_loss = objective.g(D(G(z))) (+ joint terms such as consensus)."""
        self.toggle_optimizer(opt)
        fake = self.generator(self.prior.sample(x.shape[0], self.device), y)
        loss = self.objective.g_loss(self.judge(fake, y))
        self._stats["loss/g"] = loss.detach()
        loss = self.add_joint_terms(loss, x, y)
        self.note_finite(1, loss)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self.step(opt, counted=counted)
        self.untoggle_optimizer(opt)

    def simultaneous_step(
        self, x: Tensor, y: Tensor | None, d_opt: Any, g_opt: Any, counted: bool
    ) -> None:
        """Both players' gradients at the same (theta, psi), then both steps (the notes' F_h =
        id + h v). Gradients come from ``torch.autograd.grad``, so this mode runs in the module's
        own precision (no loss scaling)."""
        fake = self.generator(self.prior.sample(x.shape[0], self.device), y)
        d_loss, fake_out, stats = self.discriminator_loss(x, fake, y)
        g_loss = self.objective.g_loss(fake_out)
        stats["loss/g"] = g_loss.detach()
        g_loss = self.add_joint_terms(g_loss, x, y)
        self.note_finite(0, d_loss)
        self.note_finite(1, g_loss)
        d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, g_params)
        for params, grads in ((d_params, d_grads), (g_params, g_grads)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g
        self.step(d_opt, counted=False)
        for reg in self.regularizers:
            reg.after_step(self.discriminator)
        self.step(g_opt, counted=counted)
        self._stats.update(stats)

    def note_finite(self, index: int, value: Tensor) -> None:
        """Record the current iteration (1-based) in ``first_nonfinite[index]`` the first time
        ``value`` is NaN or Inf (a device-side update: no host sync)."""
        flags = self.first_nonfinite
        bad = ~torch.isfinite(value.detach()).all() & (flags[index] < 0)
        flags[index] = torch.where(bad, self.iteration + 1, flags[index])

    def raise_if_diverged(self) -> None:
        """Stop with :class:`TrainingDiverged`, naming the first iteration and player whose loss
        or gradient went NaN/Inf, if any did (one host sync)."""
        flags = self.first_nonfinite
        if self._trainer is not None and self.trainer.world_size > 1:
            big = torch.iinfo(flags.dtype).max
            flags = self.trainer.strategy.reduce(
                torch.where(flags < 0, big, flags), reduce_op="min"
            )
            flags = torch.where(flags == big, -1, flags)
        found = [(it, name) for it, name in zip(flags.tolist(), DIVERGENCE, strict=True) if it >= 0]
        if not found:
            return
        iteration, name = min(found)
        player = "discriminator" if name.endswith("/d") else "generator"
        what = "loss" if name.startswith("loss") else "gradient norm"
        raise TrainingDiverged(
            f"training diverged: the {player}'s {what} ({name}) became NaN or Inf at iteration "
            f"{iteration}; stopped without saving the diverged model.{self._checkpoints_note()}"
            " Try a lower learning rate (optimizer.lr), gradient clipping "
            f"(optimizer.clip_grad_norm.{player}) or a regularizer."
        )

    def _checkpoints_note(self) -> str:
        notes = []
        for callback in self.trainer.checkpoint_callbacks if self._trainer is not None else []:
            last = getattr(callback, "last_model_path", "")
            best = getattr(callback, "best_model_path", "")
            if last and callback.save_last:
                notes.append(f"Last good checkpoint: {last} (resume with ckpt_path={last}).")
            elif best and getattr(callback, "monitor", None):
                notes.append(f"Best checkpoint kept: {best}.")
        return "".join(f" {note}" for note in notes)

    def step(self, opt: Any, counted: bool) -> None:
        """Optimizer step; only ``counted`` steps advance ``trainer.global_step``."""
        if counted:
            opt.step()
        else:
            self.trainer.strategy.optimizer_step(opt.optimizer, _no_closure, self)

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        """Clip (when configured) and measure each player's gradient norm, on unscaled grads."""
        params = [p for group in optimizer.param_groups for p in group["params"]]
        player = "generator" if id(params[0]) == self._first_g_param_id else "discriminator"
        max_norm = self.clip_grad_norm.get(player)
        if max_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        if self._check_grads:
            self.note_finite(2 if player == "discriminator" else 3, norm)
        self._stats[f"grad_norm/{player[0]}"] = norm.detach()

    # ------------------------------------------------------------------ logging
    def on_train_start(self) -> None:
        self.start_iteration = self.iteration  # > 0 when resumed
        self.first_nonfinite = torch.full((4,), -1, device=self.device)
        # with fp16 loss scaling, Inf gradients are expected: the scaler skips those steps
        self._check_grads = not str(self.trainer.precision).startswith("16")
        if self._saved_rng is not None:  # here, after setup, right before the first batch is drawn
            resume.set_rng_states(self._saved_rng)
            self._saved_rng = None
        self._clock = (time.perf_counter(), self.iteration)

    def log_stats(self) -> None:
        """Log the last losses, mean D outputs, learning rates and iterations/s (one host sync)."""
        stats = self._stats
        scalars = {
            "loss/d": stats["loss/d"],
            "loss/g": stats["loss/g"],
            "D(x)": self.objective.score(stats["D(x)"]).mean(),
            "D(G(z))": self.objective.score(stats["D(G(z))"]).mean(),
        }
        if self.objective.estimates_distance:
            scalars["wasserstein_estimate"] = stats["D(x)"].mean() - stats["D(G(z))"].mean()
        scalars.update((k, v) for k, v in stats.items() if k.startswith(("reg/", "grad_norm/")))
        values = torch.stack([v.float().reshape(()) for v in scalars.values()]).tolist()
        metrics = dict(zip(scalars, values, strict=True))
        d_opt, g_opt = self.optimizers()
        metrics["lr/d"] = d_opt.optimizer.param_groups[0]["lr"]
        metrics["lr/g"] = g_opt.optimizer.param_groups[0]["lr"]
        now, it = time.perf_counter(), self.iteration
        if self._clock is not None and it > self._clock[1]:
            metrics["perf/iterations_per_s"] = (it - self._clock[1]) / (now - self._clock[0])
        self._clock = (now, it)
        for logger in self.loggers:
            logger.log_metrics(metrics, step=it)
        for key in ("loss/d", "loss/g"):
            self.log(key, metrics[key], prog_bar=True, logger=False)

    def sync_buffers(self) -> None:
        """Under DDP, copy rank 0's buffers (BatchNorm statistics, which each rank updates from
        its own batches) and EMA weights to every rank, so that all ranks sample from the same
        generator and end training with identical state. A no-op on one process."""
        if not torch.distributed.is_available() or not torch.distributed.is_initialized():
            return
        tensors = list(self.buffers())
        if self.generator_ema is not None:
            tensors += list(self.generator_ema.parameters())
        for tensor in tensors:
            torch.distributed.broadcast(tensor.data, src=0)

    def on_train_end(self) -> None:
        self.sync_buffers()

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self._trainer is not None and self.trainer.training:
            self.raise_if_diverged()  # never write a diverged model over a good checkpoint
        wandb_ids = [
            str(logger.version)
            for logger in (self.loggers if self._trainer is not None else [])
            if isinstance(logger, WandbLogger) and logger._experiment is not None
        ]
        checkpoint["gans"] = {
            "config": self.config,
            "d_steps_this_iteration": self.d_steps_this_iteration,
            "d_steps_total": self.d_steps_total,
            "rng": resume.rng_states(),
            "wandb_run_id": wandb_ids[0] if wandb_ids else None,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("gans", {})
        self.d_steps_this_iteration = int(state.get("d_steps_this_iteration", 0))
        self.d_steps_total = int(state.get("d_steps_total", 0))
        self._saved_rng = state.get("rng")
