"""A run's game from its config: Hydra instantiates ``model._target_`` (the family's game class)
with the model's networks and settings, plus the groups every game takes (optimizers with their
clipping and schedules, regularizer terms, EMA, logging and finite-check intervals)."""

from __future__ import annotations

import inspect

import torch
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from gans import captured
from gans.errors import ConfigError
from gans.first_stage import load_first_stage, read_first_stage
from gans.games.base import Game


def compile_players(model: Game) -> None:
    """``torch.compile`` every player in place (same state_dict keys; EMA copies stay eager)."""
    needs_double_backward = [t.name for t in model.terms if t.double_backward]
    if needs_double_backward:
        raise ConfigError(
            f"compile=true cannot run regularizer.{needs_double_backward[0]}: its gradient "
            "penalty needs a double backward, which torch.compile does not support; "
            "use compile=false"
        )
    for network in model.players.values():
        network.compile()


def _as_gan_family(cfg: DictConfig) -> DictConfig:
    """A config saved before games had families (no ``model._target_``: every model was the
    GAN's) with the GAN family's target and objective filled in, so old checkpoints restore."""
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.model._target_ = "gans.games.gan.GANGame"
        cfg.model.objective = cfg.loss
    return cfg


def config_error(exc: BaseException | None) -> ConfigError | None:
    """The ConfigError behind an exception (Hydra wraps what a target raises), if any."""
    while exc is not None:
        if isinstance(exc, ConfigError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def takes_augment(game: type) -> bool:
    """Whether the game class (or a class it extends) takes an ``augment`` argument."""
    return any(
        "augment" in inspect.signature(k.__init__).parameters
        for k in game.__mro__
        if "__init__" in vars(k)
    )


def build_model(cfg: DictConfig) -> Game:
    """The game ``cfg.model`` names, with the run's plain config attached for checkpoints."""
    if "_target_" not in cfg.model:
        if "generator" not in cfg.model or "discriminator" not in cfg.model:
            raise ConfigError(
                f"model={cfg.model.get('name')} has no model._target_ (the game class, e.g. "
                "gans.games.gan.GANGame)"
            )
        cfg = _as_gan_family(cfg)
    first_stage = read_first_stage(cfg)
    extra = {"augment": cfg.augment} if cfg.get("augment") else {}
    if extra and not takes_augment(get_class(cfg.model._target_)):
        raise ConfigError(
            f"augment=... augments what a discriminator sees in the GAN family; model="
            f"{cfg.model.get('name')} ({cfg.model._target_}) takes none: use augment=none"
        )
    try:
        game = instantiate(
            cfg.model,
            **extra,
            optimizer=cfg.optimizer,
            terms=cfg.get("regularizer") or {},
            ema=cfg.ema,
            log_every=cfg.log_every,
            check_finite_every=cfg.get("check_finite_every", 1),
            seed=cfg.get("seed", 0),
            _convert_="partial",
        )
    except InstantiationException as exc:
        error = config_error(exc)
        if error is not None:
            raise error from None
        raise
    if first_stage is not None:
        load_first_stage(game, first_stage)
    game.config = OmegaConf.to_container(cfg, resolve=True)
    if cfg.get("channels_last"):
        game.to(memory_format=torch.channels_last)
    if cfg.get("compile"):
        compile_players(game)
    if cfg.get("cuda_graphs"):
        captured.check(cfg, game)
        game.capture()
    return game
