"""Players' optimizers: torch's fastest kernels unless the config says otherwise, several players
under one optimizer, and the GPU probe that every optimizer step makes on a CPU run."""

from __future__ import annotations

import os

import pytest
import torch

from gans.build import build_model
from gans.platform import NVML_CHECK, cheap_cuda_probe
from tests.conftest import compose_config


def optimizers(*overrides: str) -> dict[str, torch.optim.Optimizer]:
    model = build_model(compose_config(["data.image_size=16", "paths.run_dir=.", *overrides]))
    return dict(zip(model.stepped, model.configure_optimizers(), strict=True))


def test_adam_gets_the_fused_kernel_and_rmsprop_the_multi_tensor_one():
    adam = optimizers("model=dcgan")
    assert [type(o).__name__ for o in adam.values()] == ["Adam", "Adam"]
    assert all(o.defaults["fused"] is True and not o.defaults["foreach"] for o in adam.values())
    rmsprop = optimizers("model=wgan")
    assert all(o.defaults["foreach"] is True for o in rmsprop.values())


def test_a_kernel_named_in_the_config_is_kept():
    chosen = optimizers("model=dcgan", "+optimizer.generator.fused=false")
    assert not chosen["generator"].defaults["fused"]
    assert chosen["discriminator"].defaults["fused"] is True


def test_the_fused_step_follows_the_per_tensor_adam_to_rounding():
    torch.manual_seed(0)
    start = [torch.randn(64, 32), torch.randn(32)]
    runs = []
    for kernel in ({"foreach": False}, {"fused": True}):
        params = [p.clone().requires_grad_() for p in start]
        opt = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999), **kernel)
        torch.manual_seed(1)
        for _ in range(50):
            for p in params:
                p.grad = torch.randn_like(p)
            opt.step()
        runs.append(params)
    for a, b in zip(*runs, strict=True):
        assert torch.allclose(a, b, atol=1e-6, rtol=0)
        assert not torch.equal(a, start[0] if a.dim() == 2 else start[1])


def test_the_vae_steps_encoder_and_decoder_with_one_optimizer():
    model = build_model(compose_config(["model=vae", "data.image_size=16", "paths.run_dir=."]))
    (optimizer,) = model.configure_optimizers()
    stepped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert stepped == {id(p) for p in (*model.encoder.parameters(), *model.decoder.parameters())}
    assert model.stepped == ("vae",) and model.members("vae") == ("encoder", "decoder")


@pytest.mark.parametrize(("device", "after"), [("cpu", "0"), ("cuda", "1")])
def test_a_cpu_run_asks_the_cuda_runtime_not_nvml(monkeypatch, device, after):
    monkeypatch.setenv(NVML_CHECK, "1")  # what importing Lightning sets
    cheap_cuda_probe(torch.device(device))
    assert os.environ[NVML_CHECK] == after
