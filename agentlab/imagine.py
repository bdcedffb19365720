"""What a Dreamer run's world model dreams: ``python -m agentlab.imagine RUN_DIR --out dream.gif [--context 5]
[--steps 60] [--seed 0] [--checkpoint best|latest]``.

The run's greedy policy plays one episode in the real env. The world model filters the first ``--context``
observations (the posterior, as the actor does), then predicts the rest open loop: from that state its prior
rolls forward under the actions the policy really took, with no further observation, and each predicted state
is decoded. Each GIF frame puts the real step beside the prediction for it:

- image observations: the real observation beside the decoded one (during the context, the reconstruction);
- vector observations: the env's own frame beside every observation feature over time, real (solid) against
  predicted (dashed), the context shaded.

The latent steps take the most likely class of each categorical, so a GIF is the same for the same seed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

import envs
from agentlab import runs
from agentlab.config import ConfigError, count, output_file
from agentlab.dreamer.actor import mode_onehot
from agentlab.dreamer.losses import symexp
from agentlab.dreamer.networks import WorldModel, latent
from agentlab.evaluate import CHECKPOINTS, Policy, gif_env, load_run, write_gif
from perception.cli import OneLineParser


def play(policy: Policy, env: Any, steps: int, seed: int, render: bool) -> tuple[np.ndarray, np.ndarray, list]:
    """One greedy episode of at most ``steps`` steps: observations ``[T, ...]``, the actions taken after each
    ``[T]`` (the last one taken or not) and, with ``render``, the env's frames."""
    obs, _ = env.reset(seed=seed)
    policy.reset()
    observations, actions, frames = [], [], []
    for _ in range(steps):
        observations.append(obs)
        frames.extend([env.render()] if render else [])
        actions.append(policy.act(obs))
        obs, _, terminated, truncated, _ = env.step(actions[-1])
        if terminated or truncated:
            break
    return np.stack(observations), np.asarray(actions), frames


@torch.inference_mode()
def dream(model: WorldModel, start: dict[str, np.ndarray], observations: np.ndarray, actions: np.ndarray,
          context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The real observations ``[T, ...]`` and the model's view of them ``[T, ...]`` (pixels in [0, 1], or features
    in the env's units): posterior reconstructions for the first ``context`` steps, open-loop predictions after.
    ``start`` is the actor's initial state for one env (``h``, ``z`` and the action before the first step)."""
    obs = torch.as_tensor(observations)
    embed = model.encoder(obs)  # [T, E]
    h, z, before = (torch.as_tensor(start[name]) for name in ("h", "z", "action"))
    taken = F.one_hot(torch.as_tensor(actions[:-1]), before.shape[-1]).to(before.dtype)  # a_{t−1} for t ≥ 1
    previous = torch.cat([before, taken])  # [T, A]
    states = []
    for t in range(len(obs)):
        if t < context:  # filter: h_t from the past, z_t from the posterior that reads x_t
            h, _, post = model.rssm.filter(h, z, previous[t:t + 1], embed[t:t + 1])
            z = mode_onehot(post).flatten(-2)
        else:  # dream: h_t from the past, z_t from the prior alone
            h, prior = model.rssm.dynamics(h, z, previous[t:t + 1])
            z = mode_onehot(prior).flatten(-2)
        states.append(latent(h, z))
    real, decoded = model.target(obs), model.decoder(torch.cat(states))  # [T, ...]: pixels, or symlog'd features
    return (real, decoded) if model.image else (symexp(real), symexp(decoded))


def to_picture(image: torch.Tensor) -> np.ndarray:
    """A ``[C, H, W]`` image in [0, 1] as ``[H, W, 3]`` for matplotlib (a single channel as grey)."""
    picture = image.clamp(0, 1).permute(1, 2, 0).numpy()
    return np.repeat(picture, 3, axis=2) if picture.shape[2] == 1 else picture[..., :3]


def draw(real: torch.Tensor, predicted: torch.Tensor, frames: list, context: int, image: bool) -> list[np.ndarray]:
    """The GIF's frames: the real step beside the model's, one a step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4), dpi=80)
    if not image:
        real, predicted = real.numpy(), predicted.numpy()  # [T, D] each
    out = []
    for t in range(len(real)):
        left.clear()
        right.clear()
        phase = "filtered" if t < context else "open loop"
        if image:
            left.imshow(to_picture(real[t]), interpolation="nearest")
            right.imshow(to_picture(predicted[t]), interpolation="nearest")
            for ax in (left, right):
                ax.axis("off")
        else:
            left.imshow(frames[t])
            left.axis("off")
            right.axvspan(0, context - 1, color="0.9")
            for k in range(real.shape[1]):
                (line,) = right.plot(real[:t + 1, k], lw=1.5)
                right.plot(predicted[:t + 1, k], ls="--", lw=1.5, color=line.get_color())
            right.set_xlim(0, len(real) - 1)
            right.set_ylim(float(min(real.min(), predicted.min())), float(max(real.max(), predicted.max())))
            right.set_xlabel("step (solid: real, dashed: model)")
        left.set_title(f"real, step {t}")
        right.set_title(f"world model, {phase}")
        fig.canvas.draw()
        out.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m agentlab.imagine", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--out", type=output_file(".gif"), required=True, help="the GIF to write")
    parser.add_argument("--context", type=count(1), default=5, help="real observations filtered before dreaming")
    parser.add_argument("--steps", type=count(2), default=60, help="steps of the episode shown, at most")
    parser.add_argument("--seed", type=count(0), default=0, help="the episode's reset seed")
    parser.add_argument("--checkpoint", choices=CHECKPOINTS, default="auto",
                        help="the best evaluated checkpoint or the latest (auto: best if the run has one)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        algo = runs.read_config(args.run_dir)["run"]["algo"]
        if algo != "dreamer":
            raise ConfigError(f"{args.run_dir} trained {algo}, which has no world model; "
                              "imagine a run of --algo dreamer")
        cfg, algorithm, algo_cfg, learner = load_run(args.run_dir, args.checkpoint)
        env_id = cfg["run"]["env"]
        probe = envs.make_eval(env_id)
        actor = algorithm.make_actor(algo_cfg, probe.observation_space, probe.action_space, 0, 1, args.seed)
        actor.set_weights(learner.get_weights(), 0)
        image = actor.model.image
        env = probe if image else gif_env(env_id)  # a vector env's own frames show the real step
        observations, actions, frames = play(Policy(actor, probe.observation_space), env, args.steps, args.seed,
                                             render=not image)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    context = min(args.context, len(observations))
    real, predicted = dream(actor.model, actor.initial_state(1), observations, actions, context)
    write_gif(draw(real, predicted, frames, context, image), Path(args.out))
    error = float(((real - predicted) ** 2)[context:].mean()) if context < len(real) else float("nan")
    print(f"wrote {args.out}: {len(real)} steps, {context} filtered, open-loop mean squared error {error:.4g}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    sys.exit(main())
