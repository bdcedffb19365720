"""Plain numpy state made loadable by ``torch.load(weights_only=True)``, and back.

Checkpoints may only hold tensors, numbers, strings and containers of them; replay contents, env
states and worker states are numpy. ``to_saveable`` wraps each array (without copying) as a tensor
under a marker key, ``from_saveable`` unwraps it, and both pass everything else through, so either
may be applied to data that has already been converted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def to_saveable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as tensors, so ``torch.load(weights_only=True)`` reads it back."""
    if isinstance(value, np.ndarray | np.generic):
        if value.dtype.kind in "USO":  # text (a gridworld's map): as a list, with its dtype
            return {"__textarray__": np.asarray(value).tolist(), "dtype": value.dtype.str}
        if isinstance(value, np.generic):
            return {"__npscalar__": torch.from_numpy(np.array(value))}
        if not value.flags.writeable:  # an array that came through Ray: torch would warn on sharing it
            value = value.copy()
        contiguous = value if value.flags.c_contiguous else value.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
        return {"__ndarray__": torch.from_numpy(contiguous)}  # shares memory: no copy
    if isinstance(value, dict):
        return {k: to_saveable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_saveable(v) for v in value)
    return value


def from_saveable(value: Any) -> Any:
    """The inverse of ``to_saveable``."""
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return value["__ndarray__"].numpy()
        if "__npscalar__" in value:
            return value["__npscalar__"].numpy()[()]
        if "__textarray__" in value:
            return np.array(value["__textarray__"], dtype=value["dtype"])
        return {k: from_saveable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(from_saveable(v) for v in value)
    return value
