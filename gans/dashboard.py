"""W&B dashboards as code: ``python -m gans.dashboard entity=... project=... [sweep=...]``.

Builds a workspace with the ``wandb-workspaces`` library (``pip install -e '.[dashboard]'``):
sections for the losses and D's outputs, the quality metrics over iterations (their
protocol-stamped keys matched by pattern), the sample grids, the health signs and, for a sweep, a
parallel-coordinates panel and the final FID against each swept hyperparameter. With W&B
credentials it is saved to the project; without them (or ``publish=false``) its definition is
written to a JSON file, with the command that publishes it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from gans.cli import command, reports_config_errors
from gans.configs import CONF_DIR
from gans.errors import ConfigError
from gans.loggers import wandb_credentials_available

X = "trainer/global_step"  # WandbLogger's step metric; the game keeps it equal to the iteration
QUALITY = (
    "fid",
    "kid",
    "is",
    "precision",
    "recall",
    "density",
    "coverage",
    "intra_fid",
    "cond_acc",
)
SWEEP_SYNTAX = re.compile(r",|^(range|choice|interval|tag|glob)\(")


def swept_keys(sweep: str) -> list[str]:
    """The keys a sweep varies: from ``<dir>/multirun.yaml`` (task overrides with several
    values, and an Optuna sweeper's ``params``), or a comma-separated list of keys."""
    folder = Path(sweep).expanduser()
    if not folder.is_dir():
        return [k.strip() for k in sweep.split(",") if k.strip()]
    config = folder / "multirun.yaml"
    if not config.is_file():
        raise ConfigError(f"sweep={sweep} has no multirun.yaml: not a Hydra multirun directory")
    saved = OmegaConf.load(config)
    keys = []
    for override in saved.hydra.overrides.task:
        key, _, value = str(override).partition("=")
        if SWEEP_SYNTAX.search(value):
            keys.append(key.lstrip("+~"))
    params = OmegaConf.select(saved, "hydra.sweeper.params") or {}
    keys += [str(k) for k in params if str(k) not in keys]
    return keys


def sweep_protocol(sweep: str | None) -> str | None:
    """The metrics protocol tag the sweep's runs recorded (``summary.json``), if any."""
    if not sweep or not Path(sweep).expanduser().is_dir():
        return None
    for summary in sorted(Path(sweep).expanduser().glob("*/summary.json")):
        protocol = json.loads(summary.read_text()).get("protocol")
        if protocol:
            return str(protocol)
    return None


def build(cfg: DictConfig) -> Any:
    """The workspace (``wandb_workspaces.workspaces.Workspace``) for ``cfg``."""
    try:
        import wandb_workspaces.reports.v2 as wr
        import wandb_workspaces.workspaces as ws
    except ImportError:
        raise ConfigError(
            "gans.dashboard needs the wandb-workspaces library: pip install -e '.[dashboard]'"
        ) from None
    line = wr.LinePlot
    sections = [
        ws.Section(
            name="Losses and D's outputs",
            is_open=True,
            panels=[
                line(title="losses", x=X, y=["loss/d", "loss/g"]),
                line(title="D(x) and D(G(z))", x=X, y=["D(x)", "D(G(z))"]),
                line(title="gradient norms", x=X, metric_regex="^grad_norm/.*"),
                line(title="regularizers", x=X, metric_regex="^reg/.*"),
                line(title="learning rates", x=X, metric_regex="^lr/.*"),
            ],
        ),
        ws.Section(
            name="Sample quality (protocol-stamped keys)",
            is_open=True,
            panels=[line(title=m, x=X, metric_regex=f"^{m}/.*") for m in QUALITY],
        ),
        ws.Section(
            name="Samples",
            is_open=True,
            panels=[
                wr.MediaBrowser(title=key, media_keys=[key])
                for key in ("samples", "samples/per_class", "reconstructions", "traversal")
            ],
        ),
        ws.Section(
            name="Health signs",
            panels=[
                line(
                    title="diversity ratio (fixed-noise spread / real spread)",
                    x=X,
                    y=["health/diversity_ratio"],
                ),
                line(title="warning signs raised", x=X, metric_regex="^health/(?!diversity).*"),
                line(title="iterations per second", x=X, y=["perf/iterations_per_s"]),
            ],
        ),  # fmt: skip
    ]
    if cfg.sweep:
        keys = swept_keys(str(cfg.sweep))
        if not keys:
            raise ConfigError(f"sweep={cfg.sweep}: no swept keys found")
        protocol = cfg.protocol or sweep_protocol(str(cfg.sweep))
        if not protocol:
            raise ConfigError(
                f"sweep={cfg.sweep}: give protocol=<tag> (the part after fid/ in the runs' FID "
                "key): the sweep's runs recorded none"
            )
        fid = f"fid/{protocol}"
        columns = [wr.ParallelCoordinatesPlotColumn(metric=wr.Config(k)) for k in keys]
        columns.append(wr.ParallelCoordinatesPlotColumn(metric=wr.SummaryMetric(fid)))
        sections.insert(
            0,
            ws.Section(
                name="Sweep",
                is_open=True,
                panels=[
                    wr.ParallelCoordinatesPlot(
                        title="swept settings -> final FID", columns=columns
                    ),
                    *[
                        wr.ScatterPlot(title=f"FID vs {k}", x=wr.Config(k), y=wr.SummaryMetric(fid))
                        for k in keys
                    ],
                ],
            ),  # fmt: skip
        )
    return ws.Workspace(
        entity=str(cfg.entity or "<entity>"), project=str(cfg.project), name=str(cfg.name),
        sections=sections,
    )  # fmt: skip


def definition(workspace: Any) -> dict[str, Any]:
    """The workspace's definition as plain JSON data (what ``Workspace.save`` uploads)."""
    from pydantic import TypeAdapter

    return json.loads(TypeAdapter(type(workspace)).dump_json(workspace))


def run(cfg: DictConfig) -> str:
    """Publish the workspace, or write its definition; returns what was done."""
    workspace = build(cfg)
    publish = cfg.publish
    if publish == "auto":
        publish = bool(cfg.entity) and wandb_credentials_available()
    if publish:
        if not cfg.entity:
            raise ConfigError("publish=true needs entity=<your W&B user or team>")
        if not wandb_credentials_available():
            raise ConfigError(
                "publish=true needs W&B credentials: run `wandb login` (or set WANDB_API_KEY), "
                "then run this command again"
            )
        workspace.save()
        return f"saved the workspace: {workspace.url}"
    out = Path(cfg.out or f"dashboard-{cfg.project}.json").expanduser()
    out.write_text(json.dumps(definition(workspace), indent=1))
    return (
        f"wrote the workspace definition to {out} (no W&B credentials, or publish=false); "
        f"publish it with: python -m gans.dashboard entity={cfg.entity or '<entity>'} "
        f"project={cfg.project}"
        f"{f' sweep={cfg.sweep}' if cfg.sweep else ''} publish=true"
    )


@command
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="dashboard")
@reports_config_errors
def main(cfg: DictConfig) -> None:
    print(run(cfg))


if __name__ == "__main__":
    main()
