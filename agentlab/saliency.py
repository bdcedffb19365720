"""Saliency maps: ``python -m agentlab.saliency RUN_DIR [--out FILE.png] [--frames K] [--seed S]``.

The gradient of the chosen action's value with respect to the input pixels, |∂Q(s, a*)/∂s| (Simonyan
et al. 2014), as Wang et al. (2016, Figure 2) show for dueling networks: bright pixels are the ones that
would change the value of what the agent does most. For actor-critic agents the chosen action's logit
plays the role of Q. Drawn as an overlay on the observation for a few states of a greedy episode; an agent
with memory carries its state through the episode (from the initial state at its start), and the gradient is
taken with respect to the current observation.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import envs
from agentlab.config import ConfigError, count, output_file
from agentlab.encoders import is_image
from agentlab.evaluate import CHECKPOINTS, load_run
from perception.cli import OneLineParser

Scores = Callable[[torch.Tensor, dict], tuple[torch.Tensor, dict]]
"""``(obs [1, ...], state) -> (scores [1, A], next state)``."""


def action_scores(learner: object) -> tuple[Scores, dict]:
    """Q values of a value-based learner, or policy logits of an actor-critic, one step at a time from a state;
    and the initial state."""
    no_start = torch.zeros(1, 1, dtype=torch.bool)
    if hasattr(learner, "online"):
        net = learner.online.eval()  # noisy layers at their mean

        def q(obs: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
            out, state = net.unroll(obs[None], state, no_start)
            return net.q_values(out[0]), state
        return q, net.initial_state(1)
    ac = learner.network.eval()  # type: ignore[attr-defined]

    def logits(obs: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        out, _, state, _ = ac.unroll(obs[None], state, no_start)
        return out[0], state
    return logits, ac.initial_state(1)


def saliency(scores: Scores, obs: np.ndarray, state: dict) -> tuple[np.ndarray, int, dict]:
    """|∂ score(s, a*) / ∂s| for one observation, summed over channels → ``[H, W]``; a*; the state after it."""
    x = torch.as_tensor(obs[None], dtype=torch.float32).requires_grad_(True)  # [1, *obs_shape]
    values, state = scores(x, state)
    values = values[0]  # [A]
    action = int(values.argmax())
    values[action].backward()
    grad = x.grad[0].abs().numpy()  # type: ignore[union-attr]
    channel_axis = -1 if grad.shape[-1] <= 4 < grad.shape[0] else 0  # HWC gridworld images, CHW Atari stacks
    state = {name: value.detach() for name, value in state.items()}
    return (grad.sum(axis=channel_axis) if grad.ndim == 3 else grad), action, state


def picture(obs: np.ndarray) -> np.ndarray:
    """What a person should see of an observation: RGB as is, the newest frame of a stack."""
    if obs.ndim == 3 and obs.shape[-1] == 3:
        return obs
    return obs[-1] if obs.ndim == 3 else obs


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m agentlab.saliency", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--out", type=output_file(".png", ".pdf", ".svg"),
                        help="PNG to write (default: RUN_DIR/saliency.png)")
    parser.add_argument("--frames", type=count(1), default=4, help="states of the greedy episode to show")
    parser.add_argument("--every", type=count(1), default=5, help="env steps between the states shown")
    parser.add_argument("--seed", type=count(0), default=0)
    parser.add_argument("--checkpoint", choices=CHECKPOINTS, default="auto",
                        help="the best evaluated checkpoint or the latest (auto: best if the run has one)")
    args = parser.parse_args(argv)
    try:
        cfg, algorithm, algo_cfg, learner = load_run(args.run_dir, args.checkpoint)
        env = envs.make_eval(cfg["run"]["env"])
        if not is_image(env.observation_space):
            raise ConfigError(f"saliency maps need image observations, and {cfg['run']['env']} gives "
                              f"{env.observation_space}; train on an image env (agentlab/GridWorldImage-v0, ALE/...)")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    scores, state = action_scores(learner)
    obs, _ = env.reset(seed=args.seed)
    shown: list[tuple[np.ndarray, np.ndarray, int]] = []
    for t in range(args.frames * args.every):
        sal, action, state = saliency(scores, obs, state)
        if t % args.every == 0:
            shown.append((obs, sal, action))
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    out = args.out or Path(args.run_dir) / "saliency.png"
    draw(shown, out, f"{cfg['run']['algo']} on {cfg['run']['env']}: |dQ(s,a*)/ds|")
    print(out)
    return 0


def draw(shown: list[tuple[np.ndarray, np.ndarray, int]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 3.4), squeeze=False)
    for ax, (obs, sal, action) in zip(axes[0], shown, strict=True):
        image = picture(obs)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.imshow(sal / (sal.max() + 1e-12), cmap="inferno", alpha=0.55,
                  extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5))
        ax.set_title(f"action {action}", fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
