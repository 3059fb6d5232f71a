"""Runs that a cluster launcher starts: the launcher's shape becomes the trainer's."""

from __future__ import annotations

from omegaconf import DictConfig, open_dict

from gans.errors import ConfigError


def launcher_config() -> DictConfig | None:
    """``hydra.launcher`` of the running Hydra job, or None outside one."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return HydraConfig.get().launcher
    except ValueError:
        return None


def apply_slurm_shape(cfg: DictConfig, launcher: DictConfig | None) -> bool:
    """With ``hydra/launcher=slurm``: ``trainer.num_nodes`` = nodes, ``trainer.devices`` =
    tasks_per_node, the GPU accelerator when ``gpus_per_node`` > 0, and the DDP strategy that
    lets each player's step leave the other's parameters unused when there are several
    processes. Returns whether it applied."""
    if launcher is None or not str(launcher.get("_target_", "")).endswith("SlurmLauncher"):
        return False
    nodes, tasks = int(launcher.nodes), int(launcher.tasks_per_node)
    gpus = int(launcher.get("gpus_per_node") or 0)
    if gpus and tasks != gpus:
        raise ConfigError(
            f"hydra.launcher.tasks_per_node={tasks} must equal gpus_per_node={gpus}: Lightning "
            "runs one process per GPU"
        )
    with open_dict(cfg.trainer):
        cfg.trainer.num_nodes = nodes
        cfg.trainer.devices = tasks
        cfg.trainer.accelerator = "gpu" if gpus else "cpu"
        if nodes * tasks > 1:
            cfg.trainer.strategy = "ddp_find_unused_parameters_true"
    return True


def close_process_group() -> None:
    """End a finished distributed run the way torch asks: every rank meets at a barrier, then
    the default process group is destroyed. Lightning does this itself only for NCCL; a gloo
    group left to interpreter shutdown can abort a rank ("terminate called without an active
    exception") after its work is done, which fails the job that launched it."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
