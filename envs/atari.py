"""The DQN Atari pipeline on ale-py: what the agent sees, and where its episodes end.

Mnih et al. (2015), "Human-level control through deep reinforcement learning", Methods, with the
protocol notes of Machado et al. (2018), "Revisiting the Arcade Learning Environment". From the
emulator outwards:

1. ``AtariPreprocess``: 1 to 30 random no-ops after a real reset; each action held for 4 frames,
   the picture being the pixel-wise max of the last two (sprites flicker); grayscale, 84x84 (area
   interpolation). Sticky actions (``repeat_action_probability``, 0.25 for ``-v5`` ids) act inside
   the emulator on every frame.
2. ``TimeLimit``: 27,000 agent steps (108,000 frames, 30 minutes of play) from the real reset.
3. ``EpisodicLife`` (training only): a lost life returns ``terminated=True``, so value targets stop
   there, but the following ``reset()`` only presses no-op; the game restarts at game over.
4. ``FireReset`` (games whose action 1 is FIRE): FIRE after every reset; in evaluation, also after
   each lost life, which is what training's life-long episodes amount to.
5. ``ClipReward`` (training only): the reward becomes its sign, -1, 0 or 1.
6. ``FrameStackObservation``: the last 4 pictures, ``(4, 84, 84)`` uint8, channels first.

Every step's ``info`` carries ``info["raw_reward"]``, the unclipped game score of the step,
``info["game_over"]``, True when the game ended (all lives gone), not merely a life, and
``info["lives"]``. A training loop that wants the game score as its episode return, for any env::

    ret += info.get("raw_reward", reward)
    if info.get("game_over", terminated) or truncated: record(ret); ret = 0.0

Points scored during the no-op or FIRE presses inside ``reset()`` are not reported (as in the
reference implementations); they are rare.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import ale_py
import cv2
import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import FrameStackObservation, TimeLimit

NOOP, FIRE = 0, 1
"""Action indices of no-op and FIRE in every minimal action set that has FIRE."""


@dataclass(frozen=True)
class AtariConfig:
    """The pipeline's settings; any field can be overridden through ``make(env_id, field=value)``."""

    noop_max: int = 30
    """Most no-op actions after a real reset (random starts); 0 turns them off."""
    frame_skip: int = 4
    """Emulator frames per agent step, the action repeated on each."""
    screen_size: int = 84
    """Side of the square grayscale picture."""
    frame_stack: int = 4
    """Pictures stacked into one observation."""
    max_episode_steps: int = 27_000
    """Agent steps from a real reset before truncation (108,000 frames at frame_skip 4)."""
    episodic_life: bool = True
    """A lost life ends the learning episode (the game goes on)."""
    clip_rewards: bool = True
    """Rewards become their sign; the raw score stays in ``info["raw_reward"]``."""
    fire_reset: bool = True
    """Press FIRE after resets in games whose action 1 is FIRE."""


TRAIN = AtariConfig()
"""Training: life-long episodes and clipped rewards."""
EVAL = AtariConfig(episodic_life=False, clip_rewards=False)
"""Evaluation: whole games, raw score."""

CONFIG_KEYS = frozenset(f.name for f in fields(AtariConfig))


class AtariPreprocess(gymnasium.Wrapper):
    """No-op starts, frame skip with max-pooling, grayscale and resize, driving the emulator directly.

    Gymnasium's ``AtariPreprocessing`` steps the whole ``AtariEnv`` on every frame (an observation
    and an info dict per frame), which made the whole pipeline about 1.4x slower per agent step
    (``benchmarks/atari_env_speed.py``); it also returns the previous step's picture when the game
    ends mid-skip, where this one pools the final frame. It calls ``ale.act`` itself and grabs only
    the frames it pools.
    """

    def __init__(self, env: gymnasium.Env, noop_max: int = 30, frame_skip: int = 4, screen_size: int = 84):
        super().__init__(env)
        atari = env.unwrapped
        if getattr(atari, "_frameskip", None) != 1:
            raise ValueError("AtariPreprocess skips frames itself: make the ALE env with frameskip=1")
        self.ale: ale_py.ALEInterface = atari.ale
        self.action_set: list[ale_py.Action] = list(atari._action_set)
        """Action index -> ALE action (the minimal set, or all 18 with ``full_action_space``)."""
        self.noop_max = noop_max
        self.frame_skip = frame_skip
        self.screen_size = screen_size
        height, width = self.ale.getScreenDims()
        self.frames = np.zeros((2, height, width), dtype=np.uint8)  # [2, 210, 160]: the last two grabbed
        self.observation_space = spaces.Box(0, 255, (screen_size, screen_size), np.uint8)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        _, info = self.env.reset(seed=seed, options=options)
        noops = self.env.unwrapped.np_random.integers(1, self.noop_max + 1) if self.noop_max > 0 else 0
        for _ in range(noops):
            self.ale.act(self.action_set[NOOP])
            if self.ale.game_over():
                _, info = self.env.reset(options=options)
        self.ale.getScreenGrayscale(self.frames[0])
        self.frames[1].fill(0)
        info["lives"] = self.ale.lives()
        return self.observation(), info

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        ale, ale_action = self.ale, self.action_set[action]
        reward, game_over = 0.0, False
        for t in range(self.frame_skip):
            reward += ale.act(ale_action)
            game_over = ale.game_over()
            if game_over or t >= self.frame_skip - 2:
                ale.getScreenGrayscale(self.frames[t % 2])
            if game_over:
                break
        info = {"lives": ale.lives(), "raw_reward": reward, "game_over": game_over}
        return self.observation(), reward, game_over, False, info

    def observation(self) -> np.ndarray:
        frame = np.maximum(self.frames[0], self.frames[1]) if self.frame_skip > 1 else self.frames[0]
        size = (self.screen_size, self.screen_size)
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)  # [210, 160] -> [84, 84]


class EpisodicLife(gymnasium.Wrapper):
    """A lost life terminates the learning episode; the game itself restarts only at game over.

    Mnih et al. (2015) trained this way; Machado et al. (2018) note that it hands the agent
    game-specific knowledge, so evaluation plays whole games instead. A time-limit truncation
    counts as the game's end, so the next ``reset()`` is a real one.
    """

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.lives = 0
        self.game_ended = True

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.game_ended = terminated or truncated
        lives = info["lives"]
        # lives > 0: some games (Q*bert) sit at 0 lives for a few frames before the game is over
        terminated = terminated or 0 < lives < self.lives
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if self.game_ended or seed is not None:
            obs, info = self.env.reset(seed=seed, options=options)
        else:
            obs, _, terminated, truncated, info = self.env.step(NOOP)  # step past the lost-life frame
            if terminated or truncated:
                obs, info = self.env.reset(options=options)
        self.lives = info["lives"]
        self.game_ended = False
        return obs, info


class FireReset(gymnasium.Wrapper):
    """Press FIRE after a reset, for games that wait for it (Breakout serves the ball on FIRE).

    With ``after_life_loss`` (evaluation, where lives do not end episodes) FIRE is also pressed
    within the step that lost a life, so a greedy policy trained on life-long episodes, which never
    had to serve after a lost life, does not stall.
    """

    def __init__(self, env: gymnasium.Env, after_life_loss: bool):
        super().__init__(env)
        self.after_life_loss = after_life_loss
        self.lives = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self.env.reset(seed=seed, options=options)
        obs, _, terminated, truncated, info = self.env.step(FIRE)
        if terminated or truncated:
            obs, info = self.env.reset(options=options)
        self.lives = info["lives"]
        return obs, info

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.after_life_loss and info["lives"] < self.lives and not (terminated or truncated):
            raw_reward = info["raw_reward"]
            obs, fire_reward, terminated, truncated, info = self.env.step(FIRE)
            reward += fire_reward
            info["raw_reward"] += raw_reward
        self.lives = info["lives"]
        return obs, reward, terminated, truncated, info


class ClipReward(gymnasium.RewardWrapper):
    """Reward -> its sign, so one learning rate fits games scored in ones and in thousands."""

    def reward(self, reward: float) -> float:
        return float(np.sign(reward))


def needs_fire(env: gymnasium.Env) -> bool:
    meanings = env.unwrapped.get_action_meanings()
    return len(meanings) >= 3 and meanings[FIRE] == "FIRE"


def make_atari(env_id: str, config: AtariConfig, **ale_kwargs: Any) -> gymnasium.Env:
    """The wrapped env for an ALE id; ``ale_kwargs`` go to ``gymnasium.make`` (``repeat_action_probability``,
    ``mode``, ``difficulty``, ``full_action_space``, ``render_mode``)."""
    for key in ("frameskip", "obs_type", "max_num_frames_per_episode"):
        if key in ale_kwargs:
            raise ValueError(f"{key!r} is set by the Atari pipeline; use the fields {sorted(CONFIG_KEYS)}")
    try:
        # time limits live in TimeLimit below, counted in agent steps from the real reset
        env = gymnasium.make(
            env_id, frameskip=1, obs_type="grayscale", max_num_frames_per_episode=None, **ale_kwargs
        )
    except OSError as err:  # ale-py reads the ROM file while building the env
        reason = " ".join(f"{err.__class__.__name__}: {err}".split())  # one line, even for a hash mismatch
        raise gymnasium.error.DependencyNotInstalled(
            f"Atari ROM for {env_id!r} missing or unreadable ({reason}); ROMs ship in the ale-py wheel: "
            "pip install 'ale-py>=0.9' (and unset ALE_ROMS_DIR if it is set)"
        ) from err
    env = AtariPreprocess(env, config.noop_max, config.frame_skip, config.screen_size)
    env = TimeLimit(env, config.max_episode_steps)
    if config.episodic_life:
        env = EpisodicLife(env)
    if config.fire_reset and needs_fire(env):
        env = FireReset(env, after_life_loss=not config.episodic_life)
    if config.clip_rewards:
        env = ClipReward(env)
    return FrameStackObservation(env, config.frame_stack)  # [84, 84] -> [4, 84, 84]
