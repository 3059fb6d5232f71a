"""The plumbing every game needs, and nothing of any one game.

A :class:`Game` is a LightningModule with manual optimization over named *players* (networks with
their optimizers). A family subclass says what one batch does in :meth:`Game.play`, as named
phases built from :meth:`Game.playing` and :meth:`Game.update`, and how it draws samples in
:meth:`Game.generate`. This class does the rest:

* iterations: Lightning counts every optimizer step as a global step (Lightning #17958); here only
  the step a game marks as closing an iteration goes through ``LightningOptimizer.step``, the others
  go straight to the strategy (same precision plugin, same ``on_before_optimizer_step`` hook, no
  count), so ``trainer.global_step`` equals the iteration;
* per player: optimizers (``optimizer.<player>``), gradient clipping
  (``optimizer.clip_grad_norm.<player>``), learning-rate schedules (``optimizer.schedule.<player>``,
  logged as ``lr/<tag>``), StyleGAN2's correction for separate lazy terms, EMA copies;
* the finite check: the first iteration at which any named loss or gradient norm went NaN/Inf is
  recorded on the device (no host sync) and read every ``check_finite_every`` iterations with every
  buffer, and before every checkpoint, grid and evaluation with every parameter and optimizer state;
* exact resume: phase counters, the game's own counters, every RNG, the W&B run id;
* DDP: rank 0's buffers and EMA weights broadcast before sampling and at the end;
* :meth:`Game.sample`: the one way anything outside the game gets samples, from its own random
  generator so that evaluation never moves the training random stream.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from torch import Tensor, nn
from torch.optim import Optimizer

from gans import rng
from gans.captured import CapturedPlay
from gans.ema import NetworkEMA
from gans.errors import ConfigError, TrainingDiverged
from gans.nets.modes import evaluating
from gans.platform import cheap_cuda_probe
from gans.schedules import lr_factor, scheduler
from gans.terms import Term, lazy_correction

#: a finite-check stamp is iteration * SEQ + the note's order within the iteration
SEQ = 1 << 20
#: the stamp of a key that has stayed finite (larger than any real stamp: notes keep the minimum)
UNSET = torch.iinfo(torch.long).max


def _no_closure() -> None:
    return None


def _fast_kernels(factory: Callable[..., Optimizer], capturable: bool = False) -> dict[str, bool]:
    """The fastest of torch's implementations for a ``torch.optim`` factory that was told none:
    ``fused=True`` where the optimizer has it (Adam, AdamW, SGD: one kernel updates every
    tensor), else ``foreach=True`` (RMSprop: one kernel per operation over all tensors). torch
    picks a multi-tensor path by itself only on CUDA; on the CPU the fused Adam step is 3x
    faster than its per-tensor loop and agrees with it to rounding (5e-7 after 50 steps),
    foreach is bit-identical (benchmarks/README.md). ``optimizer.<player>.fused=false`` or
    ``foreach=false`` keeps torch's own choice. ``capturable`` asks for the variant a CUDA graph
    can record (its step count on the device), where the optimizer has one."""
    keywords = getattr(factory, "keywords", None) or {}
    try:
        takes = inspect.signature(factory.func).parameters  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return {}
    told = any(keywords.get(k) is not None for k in ("fused", "foreach", "capturable"))
    fast: dict[str, bool] = {}
    if not told and not keywords.get("differentiable"):
        kernel = "fused" if "fused" in takes else "foreach" if "foreach" in takes else None
        fast = {kernel: True} if kernel else {}
    if capturable and "capturable" in takes:
        fast["capturable"] = True
    return fast


def _terms(terms: Mapping[str, Any] | Sequence[Any] | None) -> list[Term]:
    """The configured terms (``regularizer.<name>`` nodes instantiated), empty entries dropped."""
    values = terms.values() if isinstance(terms, Mapping) else (terms or [])
    return [t for t in values if isinstance(t, Term)]


class Game(L.LightningModule):
    """Named players under manual optimization; subclasses implement :meth:`play` and
    :meth:`generate`.

    Args:
        players: the networks by name, e.g. ``{"generator": G, "discriminator": D}``; each is an
            attribute of the module (``state_dict`` keys ``<name>.*``).
        optimizer: the ``optimizer`` config group: ``optimizer.<player>`` is a ``torch.optim``
            factory taking the parameters (a Hydra partial); ``clip_grad_norm.<player>`` a max
            gradient norm or null; ``schedule.<player>`` a :class:`gans.schedules.LRFactor`'s
            settings or null.
        stepped: the names that have an optimizer, in ``configure_optimizers`` order (default:
            every player, in order): a player, or a group of ``groups``.
        groups: players that one optimizer steps together, by that optimizer's name (the VAE's
            ``{"vae": ("encoder", "decoder")}``: one Adam over both is the lab's loop, and one
            optimizer step instead of two).
        terms: loss terms (:class:`gans.terms.Term`), each owned by a player.
        ema: ``{"enabled", "decay", "warmup", "start"}``: an exponential moving average of each
            network in ``averaged``, updated after every iteration, used by :meth:`sample`.
        averaged: the players the EMA averages.
        tags: short names in logged keys (``loss/<tag>``, ``grad_norm/<tag>``, ``lr/<tag>``);
            default: the player's name.
        log_every: iterations between logged scalars (one host sync each).
        check_finite_every: iterations between finite checks (one host sync each); 0 = only
            before a checkpoint is written.
        seed: seeds :meth:`sample`'s own random generator.
    """

    #: the players :meth:`sample` runs (in eval mode; their EMA copies when averaged)
    sampled: tuple[str, ...] = ()
    #: class labels a conditional game samples with (0: unconditional)
    num_classes: int = 0
    #: True when ``sample(n, inputs=x)`` maps real samples x to their reconstructions/outputs
    reconstructs: bool = False
    #: True for image-to-image translation (``sample(n, inputs=a)`` translates images a)
    translates: bool = False

    def __init__(
        self,
        players: Mapping[str, nn.Module],
        optimizer: Mapping[str, Any],
        *,
        stepped: Sequence[str] | None = None,
        groups: Mapping[str, Sequence[str]] | None = None,
        terms: Mapping[str, Any] | Sequence[Any] | None = None,
        ema: Mapping[str, Any] | None = None,
        averaged: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for key, value in (("log_every", log_every), ("check_finite_every", check_finite_every)):
            if int(value) < (0 if key == "check_finite_every" else 1):
                raise ConfigError(f"{key}={value} must be an integer >= 1")
        self.automatic_optimization = False
        self.player_names = tuple(players)
        for name, network in players.items():
            setattr(self, name, network)
        self.groups = {name: tuple(members) for name, members in (groups or {}).items()}
        for name, members in self.groups.items():
            if name in self.player_names or not set(members) <= set(self.player_names):
                raise ValueError(f"group {name}={members}: a new name over existing players")
        self.stepped = tuple(stepped if stepped is not None else self.player_names)
        self.tags = {
            name: (tags or {}).get(name, name) for name in (*self.player_names, *self.groups)
        }
        self._factories = {name: self._factory(optimizer, name) for name in self.stepped}
        self.clip_grad_norm = self._clipping(optimizer.get("clip_grad_norm") or {})
        self._lr_factors = {}
        for name, settings in (optimizer.get("schedule") or {}).items():
            if settings:
                self._known(name, "optimizer.schedule")
                self._lr_factors[name] = lr_factor(name, dict(settings))
        self.terms = nn.ModuleList(_terms(terms))
        self.lazy_every = self._lazy_intervals()
        self.averaged: tuple[str, ...] = ()
        ema = ema or {}
        if ema.get("enabled"):
            self.averaged = tuple(averaged)
            for name in self.averaged:
                average = NetworkEMA(
                    players[name],
                    decay=ema["decay"],
                    warmup=ema["warmup"],
                    start=ema.get("start", 0),
                )
                setattr(self, f"{name}_ema", average)
        self.log_every = int(log_every)
        self.check_finite_every = int(check_finite_every)
        self.config: dict[str, Any] = {}
        self.stats: dict[str, Tensor] = {}
        self.phase_counts: dict[str, int] = {}
        self.start_iteration = 0
        self.sample_rng = torch.Generator().manual_seed(int(seed))
        self._first_bad: dict[str, Tensor] = {}
        self._seq = (0, 0)  # (iteration, notes in it so far)
        self._watched: dict[str, tuple[str, str]] = {}
        self._check_grads = True
        self._player_of: dict[int, str] = {}
        self._schedulers: list[Any] = []
        self._clock: tuple[float, int] | None = None
        self._saved_rng: dict[str, Any] | None = None
        self._saved_rng_ranks: list[dict[str, Any]] | None = None
        #: while an iteration is being recorded as a CUDA graph: the iteration count on the
        #: device, which the graph advances (the finite check's stamp)
        self.device_iteration: Tensor | None = None
        #: the player whose step closed the last iteration
        self.closing_player: str | None = None
        self.captured: Any = None
        #: what the progress bar and lines show (plain floats, set on logging steps): not
        #: ``self.log``, whose values Lightning keeps as device tensors and reads back with
        #: ``.item()`` after every batch until the epoch ends, a GPU sync per batch
        self.progress_values: dict[str, float] = {}

    # ------------------------------------------------------------------ players
    def _known(self, player: str, key: str) -> None:
        if player not in self.player_names and player not in self.groups:
            raise ConfigError(
                f"{key}.{player}: this game's players are "
                f"{', '.join((*self.player_names, *self.groups))}"
            )

    def _factory(self, optimizer: Mapping[str, Any], player: str) -> Callable[..., Optimizer]:
        factory = optimizer.get(player)
        if not callable(factory):
            raise ConfigError(
                f"optimizer.{player} must be a torch.optim partial (_target_, _partial_: true): "
                f"this game's players with optimizers are {', '.join(self.stepped)}"
            )
        return factory

    def _clipping(self, settings: Mapping[str, Any]) -> dict[str, float]:
        out = {}
        for player, value in settings.items():
            if value is None:
                continue
            if player not in self.stepped or float(value) <= 0:
                raise ConfigError(
                    f"optimizer.clip_grad_norm.{player}={value}: players are "
                    f"{' and '.join(self.stepped)}, values must be > 0 (or null for no clipping)"
                )
            out[player] = float(value)
        return out

    def _lazy_intervals(self) -> dict[str, int]:
        """The interval of each player's separate lazy terms (one per player, as in StyleGAN2)."""
        found: dict[str, int] = {}
        for term in self.terms:
            if not term.lazy:
                continue
            self._known(term.player, f"regularizer.{term.name}.player")
            if found.setdefault(term.player, term.every) != term.every:
                raise ConfigError(
                    f"regularizer.{term.name}.every={term.every}: the {term.player}'s separate "
                    f"lazy terms must share one interval ({found[term.player]})"
                )
        return found

    def members(self, name: str) -> tuple[str, ...]:
        """The players an optimizer named ``name`` steps: a group's, or the player itself."""
        return self.groups.get(name, (name,))

    @property
    def players(self) -> dict[str, nn.Module]:
        """The networks by name."""
        return {name: getattr(self, name) for name in self.player_names}

    def network(self, player: str, ema: bool = True) -> nn.Module:
        """``player``'s network, or its EMA copy when averaged and ``ema``."""
        if ema and player in self.averaged:
            return getattr(self, f"{player}_ema").module
        return getattr(self, player)

    @property
    def uses_ema(self) -> bool:
        """Whether :meth:`sample` draws from averaged networks."""
        return any(name in self.averaged for name in self.sampled)

    def terms_of(self, player: str, *, lazy: bool | None = None) -> list[Term]:
        """``player``'s terms (only the separate lazy ones, or only the others, when asked)."""
        return [t for t in self.terms if t.player == player and (lazy is None or t.lazy == lazy)]

    @property
    def iteration(self) -> int:
        """Completed iterations (equal to ``trainer.global_step``)."""
        return self.trainer.global_step if self._trainer is not None else 0

    def configure_optimizers(self) -> Any:
        optimizers = []
        for name in self.stepped:
            params = [p for m in self.members(name) for p in getattr(self, m).parameters()]
            kernels = _fast_kernels(self._factories[name], capturable=self.captured is not None)
            optimizer = self._factories[name](params, **kernels)
            lazy_correction(optimizer, self.lazy_every.get(name, 1))
            self._player_of[id(optimizer)] = name
            optimizers.append(optimizer)
        total = self.trainer.max_steps if self._trainer is not None else -1
        schedulers = [
            scheduler(opt, self._lr_factors[name].resolve(max(total, 0)))
            for name, opt in zip(self.stepped, optimizers, strict=True)
            if name in self._lr_factors
        ]
        return (optimizers, schedulers) if schedulers else optimizers

    def optimizer(self, player: str) -> Any:
        """``player``'s (Lightning-wrapped) optimizer (a player's or a group's name)."""
        optimizers = self.optimizers()
        if not isinstance(optimizers, list):
            optimizers = [optimizers]
        return optimizers[self.stepped.index(player)]

    # ------------------------------------------------------------------ the game's vocabulary
    def play(self, batch: Any) -> bool:
        """One batch of the game, as named phases; True when this batch closed an iteration."""
        raise NotImplementedError

    def generate(
        self,
        n: int,
        *,
        labels: Tensor | None,
        inputs: Tensor | None,
        generator: torch.Generator,
        ema: bool,
    ) -> Tensor:
        """The game's samples (called by :meth:`sample`, already in eval mode and no_grad)."""
        raise NotImplementedError

    def phase(
        self, name: str, fn: Callable[..., Any], *args: Any, every: int = 1, **kw: Any
    ) -> Any:
        """Run ``fn(*args, **kw)`` on every ``every``-th time this phase is reached (its count is
        resume state), under the profiler mark ``gans/<name>``; returns what ``fn`` returns."""
        count = self.phase_counts.get(name, 0) + 1
        self.phase_counts[name] = count
        if count % every:
            return None
        profile = self.trainer.profiler.profile if self._trainer is not None else None
        with profile(f"gans/{name}") if profile is not None else nullcontext():
            return fn(*args, **kw)

    @contextmanager
    def playing(self, player: str) -> Iterator[Any]:
        """Gradients flow to ``player``'s parameters only (``toggle_optimizer``) inside."""
        optimizer = self.optimizer(player)
        self.toggle_optimizer(optimizer)
        try:
            yield optimizer
        finally:
            self.untoggle_optimizer(optimizer)

    def update(
        self, player: str | Sequence[str], loss: Tensor, *, closes_iteration: bool = False
    ) -> None:
        """One step on ``loss`` of ``player`` (or group), or of several that share it with
        optimizers of their own (InfoGAN's Q head and D): finite note under the last, zero_grad
        of each, one backward, :meth:`step` of each in order (the last may close the
        iteration)."""
        players = (player,) if isinstance(player, str) else tuple(player)
        self.note_loss(players[-1], loss)
        for name in players:
            self.optimizer(name).zero_grad(set_to_none=True)
        self.manual_backward(loss)
        for name in players[:-1]:
            self.step(name)
        self.step(players[-1], closes_iteration=closes_iteration)

    def step(self, player: str, *, closes_iteration: bool = False) -> None:
        """``player``'s optimizer step on the gradients in place, then its terms' after-step
        rules (e.g. weight clipping); only a step that closes an iteration advances
        ``trainer.global_step``."""
        optimizer = self.optimizer(player)
        if closes_iteration:
            self.closing_player = player
            optimizer.step()
        else:
            self.trainer.strategy.optimizer_step(optimizer.optimizer, _no_closure, self)
        for term in self.terms_of(player):
            if term.kind == "after_step":
                term.after_step(getattr(self, player))

    def record(self, **values: Tensor) -> None:
        """Keep this step's values (detached) in :attr:`stats` for logging and monitors."""
        self.stats.update((k, v.detach()) for k, v in values.items())

    def capture_refusal(self) -> str | None:
        """Why one call of :meth:`play` cannot be recorded as a CUDA graph and replayed
        (``cuda_graphs=true``, :mod:`gans.captured`), or None when it can."""
        return (
            f"the {type(self).__name__} has no captured iteration (cuda_graphs=true covers the "
            "GAN family: GANGame and its conditional variants)"
        )

    def capture(self) -> None:
        """Play every batch through :class:`gans.captured.CapturedPlay` (the caller has checked
        :meth:`capture_refusal`); optimizers are built ``capturable``."""
        self.captured = CapturedPlay(self)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        closed = self.captured(batch) if self.captured is not None else self.play(batch)
        if not closed:
            return
        iteration = self.iteration
        for name in self.averaged:
            getattr(self, f"{name}_ema").update(getattr(self, name), iteration)
        for sched in self._schedulers:
            sched.step()
        if iteration % self.log_every == 0:
            with self.trainer.profiler.profile("gans/log_stats"):
                self.log_stats()
        if self.check_finite_every and iteration % self.check_finite_every == 0:
            self.raise_if_diverged(full=False)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        labels: Tensor | None = None,
        inputs: Tensor | None = None,
        generator: torch.Generator | None = None,
        ema: bool = True,
    ) -> Tensor:
        """``n`` samples in [-1, 1] (float32, on the module's device), drawn in eval mode from the
        sampled networks (their EMA copies when averaged and ``ema``). Random draws come from
        ``generator`` (default: the module's own), never from the global stream. ``labels`` fix
        the classes of a conditional game; ``inputs`` are what the generator maps from (latent
        vectors, or source images for translation and autoencoders)."""
        networks = [self.network(name, ema) for name in self.sampled]
        with evaluating(*networks):
            out = self.generate(
                n,
                labels=labels,
                inputs=inputs,
                generator=generator if generator is not None else self.sample_rng,
                ema=ema,
            )
        return out.float()

    def check_fits(self, shape: tuple[int, ...]) -> None:
        """Raise a ConfigError unless the samples have the data's sample ``shape``."""
        made = tuple(self.sample(2, generator=torch.Generator().manual_seed(0)).shape[1:])
        if made != tuple(shape):
            raise ConfigError(
                f"model.{self.sampled[0]} makes samples of shape {made} but the data has "
                f"{tuple(shape)} (check the model's image_size/channels against data.image_size/"
                "channels)"
            )

    def health_signals(self) -> Tensor | None:
        """(D loss, G loss, P(real | x), P(real | G(z))) of the last step for the health monitor,
        or None when the game has no such probabilities."""
        return None

    # ------------------------------------------------------------------ the finite check
    def watch(self, key: str, player: str, what: str) -> None:
        """Track ``key`` (``what`` of ``player``) in the finite check."""
        if key not in self._first_bad:
            self._first_bad[key] = torch.full((), UNSET, dtype=torch.long, device=self.device)
            self._watched[key] = (player, what)

    def note_finite(self, key: str, value: Tensor, player: str, what: str) -> None:
        """Record when ``key`` is first NaN or Inf (a device-side update: no host sync): the
        iteration (1-based) and the note's order within it, so that the check reports what went
        bad first (a loss before the gradient computed from it)."""
        self.watch(key, player, what)
        iteration = self.iteration + 1
        if iteration != self._seq[0]:
            self._seq = (iteration, 0)
        self._seq = (iteration, min(self._seq[1] + 1, SEQ - 1))
        flag = self._first_bad[key]
        finite = torch.isfinite(value.detach())
        stamp = iteration if self.device_iteration is None else self.device_iteration
        stamp = stamp * SEQ + self._seq[1]
        # three kernels: the earliest stamp is kept, so a later NaN never moves it
        torch.minimum(flag, torch.where(finite.all() if finite.dim() else finite, UNSET, stamp),
                      out=flag)  # fmt: skip

    def note_loss(self, player: str, loss: Tensor) -> None:
        self.note_finite(f"loss/{self.tags[player]}", loss, player, "loss")

    def nonfinite_state(self, full: bool = True) -> list[tuple[str, str]]:
        """(kind, name) of the floating-point state that holds a NaN or Inf (one host sync):
        buffers (BatchNorm statistics, terms' state) always; with ``full`` also every parameter
        (EMA copies included) and every optimizer state tensor (Adam's moments), as read before
        a checkpoint, a sample grid or an evaluation."""
        named = [("buffer", k, b) for k, b in self.named_buffers() if b.is_floating_point()]
        if full:
            named += [("parameter", k, p) for k, p in self.named_parameters()]
            optimizers = self.trainer.optimizers if self._trainer is not None else []
            for optimizer in optimizers:
                player = self._player_of.get(id(optimizer), "optimizer")
                for i, state in enumerate(optimizer.state.values()):
                    named += [
                        ("optimizer state", f"{player}.{i}.{key}", value)
                        for key, value in state.items()
                        if isinstance(value, Tensor) and value.is_floating_point()
                    ]
        if not named:
            return []
        finite = torch.stack([torch.isfinite(t).all() for _, _, t in named]).tolist()
        return [(kind, k) for (kind, k, _), ok in zip(named, finite, strict=True) if not ok]

    def raise_if_diverged(self, full: bool = True) -> None:
        """Stop with :class:`TrainingDiverged`, naming the first iteration and player whose loss
        or gradient norm went NaN/Inf, or the state that did (:meth:`nonfinite_state`; one host
        sync; all ranks agree). The periodic check in training reads buffers only
        (``full=False``); checkpoints, grids and evaluations read everything."""
        keys = sorted(self._first_bad)
        bad_state = self.nonfinite_state(full)
        flags = torch.stack(
            [self._first_bad[k] for k in keys]
            + [torch.tensor(self.iteration * SEQ if bad_state else UNSET, device=self.device)]
        )
        if self._trainer is not None and self.trainer.world_size > 1:
            flags = self.trainer.strategy.reduce(flags, reduce_op="min")
        values = flags.tolist()
        found = [(it, key) for it, key in zip(values, keys, strict=False) if it < UNSET]
        advice = " Try a lower learning rate (optimizer.lr), gradient clipping "
        if found:
            stamp, key = min(found)
            iteration = stamp // SEQ
            player, what = self._watched[key]
            raise TrainingDiverged(
                f"training diverged: the {player}'s {what} ({key}) became NaN or Inf at "
                f"iteration {iteration}; stopped without saving the diverged model."
                f"{self._checkpoints_note()}{advice}(optimizer.clip_grad_norm.{player}) or a "
                "regularizer."
            )
        if values[-1] < UNSET:
            kind, name = bad_state[0] if bad_state else ("state", "on another rank")
            player = name.split(".")[0] if bad_state else "model"
            raise TrainingDiverged(
                f"training diverged: the {player}'s {kind} {name} is NaN or Inf at iteration "
                f"{values[-1] // SEQ} (losses and gradient norms were finite); stopped without "
                f"saving the diverged model.{self._checkpoints_note()}{advice}or a regularizer."
            )

    def _checkpoints_note(self) -> str:
        """Where the last checkpoint this run wrote is: only a file that was written (every
        checkpoint passes the full finite check first) and still exists."""
        notes = []
        for callback in self.trainer.checkpoint_callbacks if self._trainer is not None else []:
            last = getattr(callback, "_last_checkpoint_saved", "")  # set after a write succeeds
            if last and os.path.isfile(last):
                notes.append(f"Last good checkpoint: {last} (resume with ckpt_path={last}).")
        return "".join(f" {note}" for note in notes) or " No checkpoint was written."

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        """Clip (when configured) and measure the player's gradient norm, on unscaled grads."""
        player = self._player_of[id(optimizer)]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        max_norm = self.clip_grad_norm.get(player)
        if max_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        tag = self.tags[player]
        if self._check_grads:
            self.note_finite(f"grad/{tag}", norm, player, "gradient norm")
        self.stats[f"grad_norm/{tag}"] = norm.detach()

    # ------------------------------------------------------------------ logging
    def on_fit_start(self) -> None:
        cheap_cuda_probe(self.device)

    def on_train_start(self) -> None:
        self.start_iteration = self.iteration  # > 0 when resumed
        self._first_bad, self._watched = {}, {}
        for player in self.stepped:  # the same keys in the same order on every rank
            self.watch(f"grad/{self.tags[player]}", player, "gradient norm")
            self.watch(f"loss/{self.tags[player]}", player, "loss")
        # with fp16 loss scaling, Inf gradients are expected: the scaler skips those steps
        self._check_grads = not str(self.trainer.precision).startswith("16")
        schedulers = self.lr_schedulers()
        self._schedulers = (
            []
            if schedulers is None
            else list(schedulers if isinstance(schedulers, list) else [schedulers])
        )
        self.restore_rng()  # here, after setup, right before the first batch is drawn
        self._clock = (time.perf_counter(), self.iteration)

    def restore_rng(self) -> None:
        """Restore the random streams a checkpoint saved (this process's own under DDP); a
        fresh DDP run, or one resumed on a different number of processes, gives every process
        streams of its own (:func:`gans.rng.seed_process`)."""
        rank, world = self.trainer.global_rank, self.trainer.world_size
        per_rank = self._saved_rng_ranks
        own = per_rank is not None and len(per_rank) == world
        if self._saved_rng is not None:
            rng.set_rng_states(per_rank[rank] if own else self._saved_rng)  # type: ignore[index]
        if not own:
            rng.seed_process(torch.initial_seed(), rank)
        self._saved_rng, self._saved_rng_ranks = None, None

    def rng_of_every_rank(self) -> list[dict[str, Any]] | None:
        """Every DDP process's random streams (a collective: every rank saves checkpoints)."""
        if not torch.distributed.is_available() or not torch.distributed.is_initialized():
            return None
        gathered: list[Any] = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(gathered, rng.rng_states())
        return gathered

    def scalars(self) -> dict[str, Tensor]:
        """The values logged every ``log_every`` iterations; default: every scalar stat."""
        return {k: v for k, v in self.stats.items() if v.dim() == 0}

    def log_stats(self) -> None:
        """Log :meth:`scalars`, each player's learning rate and iterations/s (one host sync)."""
        scalars = self.scalars()
        metrics: dict[str, float] = {}
        if scalars:
            values = torch.stack([v.float().reshape(()) for v in scalars.values()]).tolist()
            metrics = dict(zip(scalars, values, strict=True))
        for player in self.stepped:
            lr = self.optimizer(player).optimizer.param_groups[0]["lr"]
            metrics[f"lr/{self.tags[player]}"] = lr
        now, it = time.perf_counter(), self.iteration
        if self._clock is not None and it > self._clock[1]:
            metrics["perf/iterations_per_s"] = (it - self._clock[1]) / (now - self._clock[0])
        self._clock = (now, it)
        for logger in self.loggers:
            logger.log_metrics(metrics, step=it)
        self.progress_values.update(
            (key, metrics[key])
            for key in (f"loss/{self.tags[player]}" for player in self.stepped)
            if key in metrics
        )

    def sync_buffers(self) -> None:
        """Under DDP, copy rank 0's buffers (BatchNorm statistics, which each rank updates from
        its own batches) and EMA weights to every rank, so that all ranks sample from the same
        networks and end training with identical state. A no-op on one process."""
        if not torch.distributed.is_available() or not torch.distributed.is_initialized():
            return
        tensors = list(self.buffers())
        for name in self.averaged:
            tensors += list(getattr(self, f"{name}_ema").parameters())
        for tensor in tensors:
            torch.distributed.broadcast(tensor.data, src=0)

    def on_train_end(self) -> None:
        self.sync_buffers()

    # ------------------------------------------------------------------ checkpoints
    def game_state(self) -> dict[str, Any]:
        """The family's own counters to save for an exact resume (plain values)."""
        return {}

    def load_game_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`game_state` saved."""

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
            "phases": dict(self.phase_counts),
            "rng": rng.rng_states(),
            "rng_ranks": self.rng_of_every_rank(),
            "wandb_run_id": wandb_ids[0] if wandb_ids else None,
            **self.game_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("gans", {})
        self.phase_counts = {str(k): int(v) for k, v in (state.get("phases") or {}).items()}
        self._saved_rng = state.get("rng")
        self._saved_rng_ranks = state.get("rng_ranks")
        self.load_game_state(state)
