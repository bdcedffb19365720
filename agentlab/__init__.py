"""agentlab: reinforcement learning you can read, from a Q-table to distributed Rainbow.

Entry points: ``python -m agentlab.run`` (train), ``python -m agentlab.evaluate``, ``python -m agentlab.plot`` and
``python -m agentlab.play``; in code, ``agentlab.train.train`` and ``agentlab.load_policy(RUN_DIR)``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``agentlab.load_policy``, imported on first use (``import agentlab`` alone loads no torch)."""
    if name == "load_policy":
        from agentlab.evaluate import load_policy

        return load_policy
    raise AttributeError(f"module 'agentlab' has no attribute {name!r}")
