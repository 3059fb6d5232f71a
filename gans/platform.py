"""Process-wide settings that depend on where a run trains."""

from __future__ import annotations

import os

import torch

NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def cheap_cuda_probe(device: torch.device) -> None:
    """On a process that trains on the CPU, answer ``torch.cuda.is_available()`` with the CUDA
    runtime's device count instead of NVML.

    Lightning sets ``PYTORCH_NVML_BASED_CUDA_CHECK=1`` at import (so that probing for a GPU
    cannot break a later fork), and every ``torch.optim`` step asks whether a GPU is available
    (``Optimizer._accelerator_graph_capture_health_check``). Until CUDA is initialised that
    answer is not cached, so on a machine without a GPU each optimizer step dlopens
    ``libnvidia-ml`` and fails: about 0.2 ms a step, 7% of the notes' VAE iteration. A run on
    the CPU never initialises CUDA for its children to inherit, so the runtime probe is safe
    there; GPU runs are untouched (their initialised CUDA caches the count).
    """
    if device.type == "cpu" and os.environ.get(NVML_CHECK) == "1":
        os.environ[NVML_CHECK] = "0"
