"""Network weights as plain numpy arrays: what learners publish and actors adopt.

Arrays, not tensors, travel to workers: they pickle without torch and Ray hands them to every
worker from one object-store copy. Those arrays arrive read-only, so ``load_arrays`` copies them
straight into the module's existing tensors instead of building a tensor per array first (a
Nature-CNN copy is 6.7 MB, and an A2C worker adopts one every round).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn


def to_arrays(module: nn.Module) -> dict[str, np.ndarray]:
    """A copy of ``module.state_dict()`` on the host, as numpy arrays (never aliased with the module)."""
    return {name: t.detach().to("cpu", copy=True).numpy() for name, t in module.state_dict().items()}


def load_arrays(module: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Copy ``arrays`` (as from ``to_arrays``; possibly read-only) into ``module``, strictly by name and shape."""
    state = module.state_dict()
    if state.keys() != arrays.keys():
        raise KeyError(f"weights do not match the network: {sorted(state.keys() ^ arrays.keys())}")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")  # only read here
        for name, tensor in state.items():
            if arrays[name].shape != tuple(tensor.shape):  # copy_ would broadcast a wrong shape silently
                raise RuntimeError(f"weight '{name}' has shape {arrays[name].shape}, the network {tuple(tensor.shape)}")
            tensor.copy_(torch.from_numpy(arrays[name]))
