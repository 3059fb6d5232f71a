"""Where one iteration's time goes, in `gans.train` and in the plain loop of `throughput.py`.

    python benchmarks/profile_iteration.py --models dcgan,vae --iterations 40 --trace-dir out/

Each contender runs ``--warmup`` iterations, then ``--iterations`` under ``torch.profiler``
(CPU, and CUDA when there is a GPU). Per iteration it prints: wall milliseconds, host reads of
device values (``aten::_local_scalar_dense``: ``.item()``, ``.tolist()``; on a GPU each waits for
every queued kernel), CUDA synchronisations and copies, kernel launches and the GPU's busy time
(the sum of kernel times over the wall time). Then every operator that `gans.train` calls more
often per iteration than the plain loop: what the framework adds to a step. ``--trace-dir``
keeps each run's Chrome trace (``chrome://tracing``, Perfetto), gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import time
from collections import Counter
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lightning as L  # noqa: E402
import throughput as tp  # noqa: E402
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from gans.errors import ConfigError  # noqa: E402

SYNCS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize")
COPIES = ("cudaMemcpy", "cudaMemcpyAsync")
LAUNCHES = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx")
READS = ("aten::_local_scalar_dense",)


def activities() -> list[ProfilerActivity]:
    cuda = [ProfilerActivity.CUDA] if torch.cuda.is_available() else []
    return [ProfilerActivity.CPU, *cuda]


class Window:
    """Profiles iterations ``start`` to ``start + n`` of whatever calls :meth:`tick` after each."""

    def __init__(self, start: int, n: int) -> None:
        self.start, self.n = start, n
        self.prof: Any = None
        self.seconds = float("nan")
        self._t0 = 0.0

    def tick(self, iteration: int) -> None:
        if iteration == self.start:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.prof = profile(activities=activities(), record_shapes=False)
            self.prof.__enter__()
            self._t0 = time.perf_counter()
        elif iteration == self.start + self.n and self.prof is not None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.seconds = time.perf_counter() - self._t0
            self.prof.__exit__(None, None, None)


class Ticks(L.Callback):
    def __init__(self, window: Window) -> None:
        self.window = window
        self._last = -1

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step != self._last:  # a critic batch that closed no iteration
            self._last = trainer.global_step
            self.window.tick(trainer.global_step)


def summary(window: Window) -> dict[str, Any]:
    """Per-iteration figures of one profiled window."""
    events = window.prof.events()
    n = window.n
    names = Counter(e.name for e in events)
    # each kernel's time is its launching operator's self device time (microseconds)
    busy = sum(getattr(a, "self_device_time_total", 0.0) for a in window.prof.key_averages()) / 1e3
    return {
        "ms": 1e3 * window.seconds / n,
        "reads": sum(names[k] for k in READS) / n,
        "syncs": sum(names[k] for k in SYNCS) / n,
        "copies": sum(names[k] for k in COPIES) / n,
        "launches": sum(names[k] for k in LAUNCHES) / n,
        "busy": busy / (1e3 * window.seconds) if torch.cuda.is_available() else float("nan"),
        "ops": {k: v / n for k, v in names.items() if not k.startswith(("cuda", "cu"))},
    }


def keep_trace(window: Window, path: str | None) -> None:
    if path is None:
        return
    raw = path.removesuffix(".gz")
    window.prof.export_chrome_trace(raw)
    with open(raw, "rb") as src, gzip.open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.remove(raw)


def plain(model: str, args: argparse.Namespace) -> dict[str, Any]:
    cfg = tp.config(model, args.warmup + args.iterations + 1, args.overrides)
    window = Window(args.warmup, args.iterations)
    tp.plain_loop(cfg, args.warmup, on_iteration=window.tick)
    keep_trace(window, trace_path(args, model, "plain"))
    return summary(window)


def framework(model: str, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    cfg = tp.config(model, args.warmup + args.iterations + 1, [*args.overrides, *extra])
    window = Window(args.warmup, args.iterations)
    tp.train(cfg, extra_callbacks=[Ticks(window)])
    keep_trace(window, trace_path(args, model, "gans-train" + "-".join(["", *extra])))
    return summary(window)


def trace_path(args: argparse.Namespace, model: str, who: str) -> str | None:
    if not args.trace_dir:
        return None
    os.makedirs(args.trace_dir, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in who)
    return os.path.join(args.trace_dir, f"trace-{model}-{safe}.json.gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="dcgan")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--trace-dir", default=None)
    parser.add_argument("--top", type=int, default=25, help="added operators listed")
    parser.add_argument(
        "--also", action="append", default=[], help="another gans.train contender's overrides"
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every contender")
    args = parser.parse_args()
    tp.write_translation_folders()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"# {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.iterations} profiled iterations after {args.warmup}")  # fmt: skip
    for model in args.models.split(","):
        rows = {"plain": plain(model, args), "gans.train": framework(model, args, [])}
        for extra in args.also:
            try:
                rows[f"gans.train {extra}"] = framework(model, args, extra.split())
            except ConfigError as exc:
                print(f"gans.train {extra}: {exc}")
        print(f"\n{model}: per iteration")
        print(f"  {'contender':<34} {'ms':>7} {'reads':>6} {'syncs':>6} {'copies':>7} "
              f"{'launches':>9} {'GPU busy':>9}")  # fmt: skip
        for who, r in rows.items():
            print(f"  {who:<34} {r['ms']:>7.2f} {r['reads']:>6.2f} {r['syncs']:>6.2f} "
                  f"{r['copies']:>7.2f} {r['launches']:>9.1f} {r['busy']:>9.2f}")  # fmt: skip
        base = rows["plain"]["ops"]
        for who, r in list(rows.items())[1:]:
            added = sorted(
                ((k, v - base.get(k, 0.0)) for k, v in r["ops"].items()),
                key=lambda kv: -kv[1],
            )
            added = [(k, v) for k, v in added if v >= 0.5][: args.top]
            print(f"  operators {who} calls more often than the plain loop (calls/iteration):")
            for name, extra_calls in added:
                print(f"    {extra_calls:7.2f}  {name[:90]}")


if __name__ == "__main__":
    main()
