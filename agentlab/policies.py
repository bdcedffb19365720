"""Several policies on the spine: which agent acts with which policy, and the learners of them all.

A multi-agent run maps agents to policy ids (``policy_map``) and keeps one learner per id in a ``PolicySet``,
which is itself a ``Learner``: the driver feeds it payloads keyed by policy, publishes weights keyed by policy
and checkpoints ``{policy: learner state}``. A single-agent run keeps its learner bare, the one-policy case.

- ``self_play``: one policy, ``main``, plays every seat, against itself (and past snapshots of itself).
- ``shared``: one policy, ``shared``, for cooperating agents; its observation carries the agent's id
  (Terry et al. 2020, "Revisiting parameter sharing in multi-agent deep RL").
- ``independent``: one policy per agent, named as the agent.
"""

from __future__ import annotations

from typing import Any

POLICY_MODES = ("self_play", "shared", "independent")


def policy_map(agents: list[str], mode: str) -> dict[str, str]:
    """Agent -> policy id under ``mode`` (``POLICY_MODES``)."""
    if mode not in POLICY_MODES:
        raise ValueError(f"policies must be one of {', '.join(POLICY_MODES)}, got '{mode}'")
    if mode == "independent":
        return {agent: agent for agent in agents}
    return dict.fromkeys(agents, "main" if mode == "self_play" else "shared")


def policy_ids(mapping: dict[str, str]) -> list[str]:
    """The distinct policy ids of a mapping, in agent order."""
    return list(dict.fromkeys(mapping.values()))


class PolicySet:
    """One learner per policy id, seen by the driver as one ``Learner`` whose payloads are ``{policy: payload}``."""

    def __init__(self, learners: dict[str, Any]):
        self.learners = learners

    @property
    def version(self) -> int:
        """The sum of the learners' versions: it changes whenever any policy's weights do."""
        return sum(learner.version for learner in self.learners.values())

    def update(self, payload: dict[str, Any]) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for policy, part in payload.items():
            metrics.update(self.keyed(policy, self.learners[policy].update(part)))
        return metrics

    def keyed(self, policy: str, metrics: dict[str, float]) -> dict[str, float]:
        """Metric names prefixed by the policy (``player_1/loss``) when there is more than one."""
        return metrics if len(self.learners) == 1 else {f"{policy}/{k}": v for k, v in metrics.items()}

    def get_weights(self) -> dict[str, Any]:
        return {policy: learner.get_weights() for policy, learner in self.learners.items()}

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for policy, learner in self.learners.items():
            out.update(self.keyed(policy, learner.metrics()))
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"policies": {policy: learner.state_dict() for policy, learner in self.learners.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = state["policies"]
        if set(saved) != set(self.learners):
            raise ValueError(f"the checkpoint holds policies {sorted(saved)}, this run has {sorted(self.learners)}")
        for policy, learner in self.learners.items():
            learner.load_state_dict(saved[policy])
