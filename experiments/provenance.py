"""Which experiment rows still describe today's code: each row's settings, recomposed.

Every table row of an experiment records, in ``<experiment>/settings.json``, the command-line
overrides its runs were trained with and a digest of the configuration ``gans.train`` composed
from them. Composing the same overrides on today's configs shows whether the row would still be
trained the same way: a changed preset or default changes the digest, and the row is stale until
it is re-run.

    python experiments/provenance.py            # name the stale rows of every experiment
    python experiments/provenance.py --mark     # and write them into each README's stale block

The digest covers what decides the trained weights: model, loss, optimizer, regularizers, data
(not where it lies on disk), augmentation, iterations, EMA, precision. It leaves out what only
changes how a run is watched or where it writes (:data:`IGNORED`), and the seed (a row is
measured over several).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from markers import replace_between  # noqa: E402

SETTINGS = "settings.json"
STALE_START, STALE_END = "<!-- stale:start -->", "<!-- stale:end -->"
#: composed keys (dotted prefixes) that cannot change the trained weights
IGNORED = (
    "logger", "callbacks", "metrics", "health", "paths", "hydra", "hparams_search", "name",
    "seed", "ckpt_path", "publish", "log_every", "sample_every", "checkpoint_every",
    "check_finite_every", "data.quality", "data.root", "data.cache_dir", "data.num_workers",
    "trainer.enable_progress_bar", "trainer.enable_model_summary", "trainer.log_every_n_steps",
    "trainer.logger", "trainer.default_root_dir", "trainer.profiler",
    *(f"{d}.{k}" for d in ("data", "data.datamodule")
      for k in ("num_workers", "download", "in_memory", "max_memory_gb", "on_corrupt")),
)  # fmt: skip
#: options added after rows were measured -> the value that does what the code did before the
#: option existed (a row measured without the key is unchanged while its value is this one)
INTRODUCED: dict[str, object] = {
    "augment": None,  # DiffAugment/ADA group: no augmentation
    "data.holdout": 0,  # held-out images for autoencoders: none
    "data.datamodule.holdout": 0,
    "ema.start": 0,  # BigGAN-PyTorch's --ema_start: average from the first iteration
    "trainer.num_nodes": 1,
    "model.auxiliary": "acgan",  # gans/auxiliary.py: the paper's ACGAN class loss
    "model.discriminator.aux_heads": 1,  # one class head (TAC/ADC use 2)
    "model.reconstruction": "mean",  # the VAE's BCE averaged over pixels, before the ELBO
    "channels_last": False,
    "compile": False,
    "cuda_graphs": False,  # the captured GPU iteration: off (eager)
    "optimizer.schedule.generator": None,  # constant learning rates
    "optimizer.schedule.discriminator": None,
    "trainer.use_distributed_sampler": False,  # one device: no sampler to replace
    "regularizer.r1.lazy": False,  # StyleGAN2's lazy regularization: off, every D step
    "regularizer.gradient_penalty.lazy": False,
    "model.generator.cbn_init": "network",  # DCGAN's N(0, 0.02) of the per-class BN tables
    "model.discriminator.spectral_norm": False,  # named in dcgan.yaml since: the class's default
    "model.pack": 1,  # PacGAN's packing: D judges one sample at a time
    "model.matching_aware": False,  # GAN-CLS's wrong-label term: off
    "model.mode_seeking": 0.0,  # MSGAN's term: off
    "model.q.negative_slope": 0.1,  # InfoGAN's Q head: the class default before it was named
    "model.discriminator.pack": 1,
    "model.generator.batch_norm": False,  # the cGAN's G: the paper's, no BatchNorm
    "model.generator.init": "default",  # PyTorch's initialisation, where no init was named
    "model.discriminator.projection_sn": False,  # the ResNet D's class embedding: N(0, 1), no SN
    "model.generator.shared_init": "normal",  # BigGAN's shared embedding: PyTorch's N(0, 1)
    "model.discriminator.minibatch_kernels": 0,  # the cGAN D: no minibatch discrimination
    "model.discriminator.minibatch_dims": 5,
}
#: a class path a config names where a registry chose the same class by name before (issue 15's
#: move to Hydra ``_target_``): absent before, it is no change
NAMED_LATER = "._target_"
#: command-line overrides that only name places or resume (never part of a row's settings)
PLACES = (
    "hydra.", "ckpt_path=", "seed=", "data.root=", "data.cache_dir=", "metrics.cache_dir=",
    "data.datamodule.root=", "data.datamodule.cache_dir=", "model.first_stage=",
)  # fmt: skip


def _flat(node: object, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out or {prefix[:-1]: {}}
    return {prefix[:-1]: node}


def _ignored(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in IGNORED)


def row_overrides(overrides: list[str]) -> list[str]:
    """``overrides`` without the ones that name places, seeds or a checkpoint to resume."""
    return [o for o in overrides if not o.lstrip("+~").startswith(PLACES)]


def settings(overrides: list[str], root: Path = ROOT) -> dict[str, object]:
    """The flattened configuration ``gans.train`` composes from ``overrides`` with the configs
    under ``root/conf``, interpolations resolved, the :data:`IGNORED` keys left out."""
    with _configs(root):
        return _composed(overrides)


@contextlib.contextmanager
def _configs(root: Path = ROOT) -> Iterator[None]:
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(root / "conf"), version_base="1.3"):
        yield


def _composed(overrides: list[str]) -> dict[str, object]:
    from hydra import compose
    from omegaconf import OmegaConf, open_dict

    cfg = compose(config_name="train", overrides=row_overrides(overrides))
    with open_dict(cfg):
        cfg.paths.run_dir = "RUN"  # ${hydra:...} resolves only inside a Hydra job
        for key in ("root", "cache_dir"):
            if key in cfg.get("data", {}):
                cfg.data[key] = "DATA"
    return normalised(_flat(OmegaConf.to_container(cfg, resolve=True)))


def normalised(flat: dict[str, object]) -> dict[str, object]:
    """``flat`` without the :data:`IGNORED` keys and without the settings of a disabled EMA (a
    generator average nobody samples from), sorted."""
    if flat.get("ema.enabled") is False:
        flat = {k: v for k, v in flat.items() if not k.startswith("ema.") or k == "ema.enabled"}
    return {k: v for k, v in sorted(flat.items()) if not _ignored(k)}


def digest(flat: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:12]


def record(experiment: Path, rows: dict[str, list[str]], measured: str | None = None,
           root: Path = ROOT) -> None:  # fmt: skip
    """Write each of ``rows`` (table row -> the overrides its runs were trained with) into
    ``experiment/settings.json`` with its digest on the configs under ``root`` (today's, unless a
    checkout of the commit that measured the row) and the date measured."""
    path = Path(experiment) / SETTINGS
    stored = json.loads(path.read_text()) if path.exists() else {}
    for row, overrides in rows.items():
        flat = settings(overrides, root)
        stored[row] = {
            "overrides": row_overrides(overrides),
            "digest": digest(flat),
            "measured": measured or datetime.date.today().isoformat(),
            "settings": flat,
        }
    path.write_text(json.dumps(dict(sorted(stored.items())), indent=1, default=str) + "\n")


def record_run(experiment: Path, row: str, run_dir: Path) -> None:
    """:func:`record` ``row`` with the overrides Hydra saved for the run in ``run_dir``
    (``.hydra/overrides.yaml``), right after the run trained on today's code."""
    import yaml

    overrides = yaml.safe_load((Path(run_dir) / ".hydra" / "overrides.yaml").read_text())
    record(experiment, {row: overrides})


def changes(before: dict[str, object], now: dict[str, object]) -> list[str]:
    """``key: old -> new`` for every setting that differs (``-`` where a key is absent); a key
    added since at its :data:`INTRODUCED` value is no change."""
    before = {**{k: v for k, v in INTRODUCED.items() if k in now}, **before}
    before.update({k: now[k] for k in now if k.endswith(NAMED_LATER) and k not in before})
    keys = sorted(set(before) | set(now))
    return [
        f"{k}: {before.get(k, '-')} -> {now.get(k, '-')}"
        for k in keys
        if before.get(k, "-") != now.get(k, "-")
    ]


def stale(experiment: Path) -> dict[str, list[str]]:
    """The rows of ``experiment`` whose settings today's configs compose differently, with what
    changed; a row whose overrides no longer compose is stale with Hydra's reason."""
    path = Path(experiment) / SETTINGS
    if not path.exists():
        return {}
    out = {}
    with _configs():
        for row, entry in json.loads(path.read_text()).items():
            try:
                now = _composed(entry["overrides"])
            except Exception as error:  # noqa: BLE001  (Hydra's error types: all mean stale)
                out[row] = [f"no longer composes: {str(error).splitlines()[0]}"]
                continue
            before = normalised(entry["settings"])
            if digest(now) != entry["digest"] and (changed := changes(before, now)):
                out[row] = changed
    return out


def marked(experiment: Path) -> set[str]:
    """The rows the README's stale block names (``- `row` ...`` lines)."""
    body = (Path(experiment) / "README.md").read_text()
    if STALE_START not in body:
        return set()
    block = body.split(STALE_START, 1)[1].split(STALE_END, 1)[0]
    return {line.split("`")[1] for line in block.splitlines() if line.startswith("- `")}


def block(rows: dict[str, list[str]], measured: dict[str, str]) -> str:
    if not rows:
        return "No stale rows: every row's settings compose the same on today's code."
    lines = [
        "**Stale rows**: today's configs compose these rows' overrides differently from the runs "
        "that measured them (`python experiments/provenance.py`); their figures describe the old "
        "settings until `run.py` re-runs them."
    ]
    for row, what in sorted(rows.items()):
        shown = "; ".join(what[:6]) + (f"; and {len(what) - 6} more" if len(what) > 6 else "")
        lines.append(f"- `{row}` (measured {measured[row]}): {shown}")
    return "\n".join(lines)


def mark(experiment: Path) -> dict[str, list[str]]:
    """Write ``experiment``'s stale rows into its README's stale block; returns them."""
    rows = stale(experiment)
    entries = json.loads((Path(experiment) / SETTINGS).read_text())
    measured = {r: e["measured"] for r, e in entries.items()}
    replace_between(Path(experiment) / "README.md", block(rows, measured), STALE_START, STALE_END)
    return rows


def experiments() -> list[Path]:
    return sorted(p.parent for p in HERE.glob(f"*/{SETTINGS}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mark", action="store_true", help="write each README's stale block")
    parser.add_argument(
        "--record",
        nargs=3,
        metavar=("EXPERIMENT", "ROW", "RUN_DIR"),
        help="record ROW of EXPERIMENT (a folder) as trained by the run in RUN_DIR (shell scripts)",
    )
    args = parser.parse_args()
    if args.record:
        record_run(Path(args.record[0]), args.record[1], Path(args.record[2]))
        return
    for experiment in experiments():
        rows = mark(experiment) if args.mark else stale(experiment)
        entries = json.loads((experiment / SETTINGS).read_text())
        print(f"{experiment.name}: {len(rows)} of {len(entries)} rows stale")
        for row, what in rows.items():
            print(f"  {row}: " + "; ".join(what[:6]))


if __name__ == "__main__":
    main()
