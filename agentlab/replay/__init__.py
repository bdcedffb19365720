"""Replay for the DQN family, in Dopamine's parts: n-step accumulator, storage, sampler, sum-tree."""

from agentlab.replay.buffer import ReplayBatch, ReplayBuffer, replay_nbytes
from agentlab.replay.frames import FrameStorage
from agentlab.replay.nstep import NStepAccumulator, Transitions
from agentlab.replay.sum_tree import SumTree

__all__ = ["FrameStorage", "NStepAccumulator", "ReplayBatch", "ReplayBuffer", "SumTree", "Transitions", "replay_nbytes"]
