"""The captured iteration (``cuda_graphs=true``): a whole iteration of a game replayed as one CUDA
graph.

On a GPU an eager GAN iteration is launch-bound at small and medium sizes: the host issues a few
hundred kernels (two forward and backward passes, two optimizer steps, the finite notes) and the
GPU waits between them. :class:`CapturedPlay` records one call of :meth:`Game.play` (the D step,
the G step and both optimizers' steps, ``capturable`` so that their step counts live on the
device) with ``torch.cuda.graph`` and replays it for every later batch: one launch per iteration,
no host work inside it (PyTorch's "whole network capture", docs: CUDA semantics, CUDA graphs).

What a replay does not repeat is the Python around the kernels, so the host-side bookkeeping of
one iteration is re-applied after each replay: Lightning's iteration count (the closing optimizer
step's progress hooks), the game's phase counters and counters (:meth:`Game.game_state`) by the
amounts the captured call moved them; and the finite check stamps the iteration from a device
counter that the graph itself advances. Random draws (latents, labels) come from the default CUDA
generator, whose offset a graph advances on every replay, so a captured run draws the same
stream as the eager one. What cannot be captured is refused before training in one line
(:func:`refusal`, :meth:`Game.capture_refusal`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from omegaconf import DictConfig

from gans.errors import ConfigError

#: eager iterations before the capture (on a side stream, as PyTorch's capture recipe asks):
#: optimizer states and cuDNN/cuBLAS workspaces exist before anything is recorded
WARMUP = 3


def refusal(cfg: DictConfig, game: Any) -> str | None:
    """Why ``cuda_graphs=true`` cannot run this configuration, or None when it can."""
    trainer = cfg.get("trainer") or {}
    accelerator = str(trainer.get("accelerator", "auto"))
    if accelerator == "cpu":
        return "it replays CUDA graphs, and trainer.accelerator=cpu trains on the CPU"
    if not cuda_present():
        return "it replays CUDA graphs, and this machine has no CUDA GPU"
    if str(trainer.get("precision", "32-true")).startswith("16"):
        return (
            f"trainer.precision={trainer.get('precision')}: fp16 loss scaling reads on the host "
            "whether each step's gradients are finite; use 32-true or bf16-mixed"
        )
    devices = trainer.get("devices", 1)
    if int(trainer.get("num_nodes", 1)) > 1 or str(devices) not in ("1", "auto"):
        return "it runs on one GPU (DDP's gradient all-reduce is not captured here)"
    if cfg.get("compile"):
        return "compile=true compiles the networks itself; choose one of the two"
    schedules = (cfg.get("optimizer") or {}).get("schedule") or {}
    scheduled = [name for name, settings in schedules.items() if settings]
    if scheduled:
        return (
            f"optimizer.schedule.{scheduled[0]} changes the learning rate between iterations, "
            "and a replay reuses the rate it was recorded with"
        )
    return game.capture_refusal()


def cuda_present() -> bool:
    return torch.cuda.is_available()


def check(cfg: DictConfig, game: Any) -> None:
    """Raise a ConfigError (one line) when ``cuda_graphs=true`` cannot run this configuration."""
    why = refusal(cfg, game)
    if why:
        raise ConfigError(f"cuda_graphs=true cannot run model={cfg.model.get('name')}: {why}")


def _static_copy(batch: Any) -> Any:
    """A batch of the same type whose tensors are the graph's fixed input buffers."""
    values = {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch)}
    if not all(isinstance(v, torch.Tensor) for v in values.values()):
        raise ConfigError("cuda_graphs=true: this data's batches hold more than tensors")
    return type(batch)(**{k: v.detach().clone() for k, v in values.items()})


def _counters(game: Any) -> dict[str, int]:
    state = {f"phase:{k}": int(v) for k, v in game.phase_counts.items()}
    state.update((k, int(v)) for k, v in game.game_state().items() if isinstance(v, int))
    return state


class CapturedPlay:
    """``game.play`` for every batch: :data:`WARMUP` eager calls on a side stream, then one
    recorded call, then replays (see the module's docstring)."""

    def __init__(self, game: Any, warmup: int = WARMUP) -> None:
        self.game = game
        self.warmup = int(warmup)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: Any = None
        self.closed = False
        self.moved: dict[str, int] = {}

    def __call__(self, batch: Any) -> bool:
        if self.graph is None and self.warmup > 0:
            self.warmup -= 1
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                closed = self.game.play(batch)
            torch.cuda.current_stream().wait_stream(side)
            return closed
        if self.graph is None:
            return self._capture(batch)
        for field in dataclasses.fields(batch):
            getattr(self.static, field.name).copy_(getattr(batch, field.name))
        self.graph.replay()
        self._advance_host_state()
        return self.closed

    def _capture(self, batch: Any) -> bool:
        game = self.game
        self.static = _static_copy(batch)
        counter = torch.full((), game.iteration, dtype=torch.long, device=game.device)
        before = _counters(game)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        game.device_iteration = counter
        try:
            with torch.cuda.graph(graph):
                counter.add_(1)
                self.closed = bool(game.play(self.static))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"cuda_graphs=true cannot run model={getattr(game, 'name', type(game).__name__)}"
                f": one iteration does work a CUDA graph cannot record ({first}); use "
                "cuda_graphs=false"
            ) from None
        finally:
            game.device_iteration = None
        if not self.closed:
            raise ConfigError(
                "cuda_graphs=true: the recorded batch closed no iteration (several batches per "
                "iteration are not captured)"
            )
        after = _counters(game)
        self.moved = {k: after[k] - before.get(k, 0) for k in after}
        self.graph = graph
        graph.replay()  # the recorded iteration has been counted, not yet computed
        return True

    def _advance_host_state(self) -> None:
        game = self.game
        state = game.game_state()
        for key, moved in self.moved.items():
            if key.startswith("phase:"):
                name = key.split(":", 1)[1]
                game.phase_counts[name] = game.phase_counts.get(name, 0) + moved
            else:
                state[key] = int(state[key]) + moved
        game.load_game_state(state)
        closing = game.optimizer(game.closing_player)
        closing._on_before_step()
        closing._on_after_step()
