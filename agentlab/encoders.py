"""Observation encoders for agents: one protocol, built by name.

An encoder is an ``nn.Module`` exposing ``features_dim: int`` that maps an observation batch to
``[B, features_dim]`` (the feature-extractor protocol of Stable-Baselines3). ``make_encoder`` wraps the
chosen body in an ``ObsAdapter`` that takes the *raw* observation batch as a tensor — uint8 images,
HWC images, Discrete indices — and prepares it, so agents never care what the environment emits.

Image bodies come from ``perception`` (which never imports agentlab); they are imported lazily so that
a tabular or MLP run does not pay for them. To add one, add a constructor to ``ENCODERS``.
``load_encoder_weights`` puts pretrained weights into a body (e.g. from ``perception.pretrain``) and can
freeze it, for every agent that builds its networks through here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from agentlab.config import ConfigError, check_choice
from agentlab.normalization import Moments, RunningNorm, batch_moments
from agentlab.runs import load_failure
from envs.masks import MaskedBox, num_masked

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


class MLP(nn.Module):
    """Fully connected layers, ReLU or tanh between: ``[B, in_dim]`` → ``[B, hidden_sizes[-1]]``."""

    def __init__(self, in_dim: int, hidden_sizes: Sequence[int] = (64, 64), activation: str = "relu") -> None:
        super().__init__()
        check_choice("activation", activation, list(ACTIVATIONS))
        layers: list[nn.Module] = []
        for size in hidden_sizes:
            layers += [nn.Linear(in_dim, size), ACTIVATIONS[activation]()]
            in_dim = size
        self.body = nn.Sequential(*layers)
        self.features_dim = in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # [B, features_dim]


def _perception_cnn(class_name: str) -> Callable[..., nn.Module]:
    """A constructor ``(chw_shape, **kwargs)`` for an image encoder in ``perception.encoders``."""

    def build(shape: tuple[int, ...], **kwargs: int) -> nn.Module:
        cls = getattr(importlib.import_module("perception.encoders"), class_name)
        return cls(in_channels=shape[0], input_hw=tuple(shape[1:]), **kwargs)

    return build


class ConvTorso(nn.Module):
    """The convolutional part of a perception CNN alone (``features_dim`` = flattened conv output).

    Rainbow (Hessel et al. 2018) puts its hidden 512-unit layers in the noisy dueling streams, so its
    torso ends at the last convolution rather than at the CNN's fully connected layer.
    """

    def __init__(self, cnn: nn.Module, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.body = cnn.body  # type: ignore[union-attr]
        with torch.no_grad():
            self.features_dim = int(self.body(torch.zeros(1, *shape)).shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # [B, features_dim]


def _nature_cnn_torso(shape: tuple[int, ...]) -> nn.Module:
    return ConvTorso(_perception_cnn("NatureCNN")(shape), shape)


class MinAtarCNN(nn.Module):
    """Young & Tian 2019 (MinAtar), Sec. 4: one 3×3 convolution, 16 channels, stride 1, then 128 units, ReLUs.

    Takes channels-last grids of numbers ``[B, H, W, C]`` (MinAtar's 10×10×C float observations, which
    ``ObsAdapter`` passes flattened), not uint8 pictures: those have the Atari CNNs.
    """

    def __init__(self, shape: tuple[int, ...], channels: int = 16, hidden: int = 128) -> None:
        super().__init__()
        if len(shape) != 3:
            raise ConfigError(f"encoder 'minatar_cnn' needs [H, W, C] grid observations, got shape {list(shape)}; "
                              "use --set encoder=mlp")
        self.shape = tuple(shape)
        height, width, in_channels = self.shape
        self.conv = nn.Conv2d(in_channels, channels, kernel_size=3, stride=1)
        self.fc = nn.Linear(channels * (height - 2) * (width - 2), hidden)
        self.features_dim = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, *self.shape).permute(0, 3, 1, 2)  # [B, H·W·C] → [B, C, H, W]
        x = F.relu(self.conv(x))  # [B, 16, H − 2, W − 2]
        return F.relu(self.fc(x.flatten(1)))  # [B, 128]


ENCODERS: dict[str, Callable[..., nn.Module]] = {
    "mlp": lambda shape, hidden_sizes=(64, 64), activation="relu": MLP(int(np.prod(shape)), hidden_sizes, activation),
    "nature_cnn": _perception_cnn("NatureCNN"),
    "nature_cnn_torso": _nature_cnn_torso,
    "small_atari_cnn": _perception_cnn("SmallAtariCNN"),
    "impala_cnn": _perception_cnn("ImpalaCNN"),
    "minatar_cnn": MinAtarCNN,
}
"""Encoder name → constructor ``(shape, **kwargs)``; ``shape`` is the prepared observation's shape (CHW)."""

IMAGE_ENCODERS = ("nature_cnn", "nature_cnn_torso", "small_atari_cnn", "impala_cnn")


def is_image(space: gym.Space) -> bool:
    """A uint8 Box of rank 2 (H, W) or 3 (CHW or HWC)."""
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) in (2, 3)


def _is_hwc(shape: tuple[int, ...]) -> bool:
    """Channels last when the last axis is small (gray, RGB, RGBA, a stack of 4) and the first is not."""
    return len(shape) == 3 and shape[-1] <= 4 < shape[0]


class ObsAdapter(nn.Module):
    """Raw observation batch → the body's input: one-hot, flatten, uint8/255, HWC → CHW; vectors standardised by
    their running moments when ``normalize`` (``agentlab.normalization``; images and one-hot states keep theirs)."""

    def __init__(self, space: gym.Space, body: nn.Module, normalize: bool = False) -> None:
        super().__init__()
        self.body = body
        self.features_dim: int = body.features_dim
        self.obs_shape = tuple(space.shape)
        self.num_states = int(space.n) if isinstance(space, gym.spaces.Discrete) else 0
        self.first_state = int(space.start) if isinstance(space, gym.spaces.Discrete) else 0  # Discrete(n, start)
        self.image = is_image(space)
        self.hwc = self.image and _is_hwc(space.shape)
        self.unsqueeze = self.image and len(space.shape) == 2
        self.mask_size = num_masked(space)  # a legal-action mask at the end of the observation: not an input
        self.frozen = False
        vector = not (self.num_states or self.image)
        self.norm = RunningNorm(int(np.prod(prepared_shape(space)))) if normalize and vector else None

    def freeze(self) -> None:
        """Fix the body's parameters: no gradients, and eval mode from now on whatever the agent's mode."""
        self.frozen = True
        self.body.requires_grad_(False)
        self.body.eval()

    def train(self, mode: bool = True) -> ObsAdapter:
        super().train(mode)
        if self.frozen:  # fixed features: BatchNorm statistics (if a body has any) must not drift either
            self.body.eval()
        return self

    def prepare(self, obs: torch.Tensor) -> torch.Tensor:
        if self.num_states:
            return F.one_hot(obs.long().view(-1) - self.first_state, self.num_states).float()  # [B] → [B, n]
        if not self.image:
            x = self.vector(obs)
            return x if self.norm is None else self.norm(x)
        x = obs.float() / 255.0
        if self.unsqueeze:
            x = x.unsqueeze(1)  # [B, H, W] → [B, 1, H, W]
        if self.hwc:
            x = x.permute(0, 3, 1, 2)  # [B, H, W, C] → [B, C, H, W]
        return x

    def vector(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B, ...]`` → ``[B, D]``: a vector observation flattened, without its mask."""
        return obs[:, :obs.shape[1] - self.mask_size].float().flatten(1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.body(self.prepare(obs))  # [B, features_dim]


def obs_moments(network: nn.Module, obs: np.ndarray) -> Moments | None:
    """The moments of raw observations ``[..., *obs_shape]`` (a fragment's ``[T, E, ...]``) as ``network``'s
    normaliser reads them; None when it has none."""
    adapter = next((m for m in network.modules() if isinstance(m, ObsAdapter) and m.norm is not None), None)
    if adapter is None:
        return None
    return batch_moments(adapter.vector(torch.as_tensor(obs).reshape(-1, *adapter.obs_shape)))


def update_obs_norms(moments: Moments | None, *networks: nn.Module) -> None:
    """Merge ``moments`` into every observation normaliser of ``networks`` (a Q-network and its target alike)."""
    if moments is None:
        return
    for network in networks:
        for module in network.modules():
            if isinstance(module, ObsAdapter) and module.norm is not None:
                module.norm.update(moments)


def mask_illegal(scores: torch.Tensor, obs: torch.Tensor, mask_size: int, fill: float = -1e9) -> torch.Tensor:
    """``scores [..., A]`` with ``fill`` at the actions the mask at the end of ``obs [..., D]`` forbids
    (``envs.masks``); unchanged without a mask, and where no action is legal (a final observation)."""
    if not mask_size:
        return scores
    legal = obs[..., obs.shape[-1] - mask_size:] > 0.5
    legal = legal | ~legal.any(-1, keepdim=True)
    return scores.masked_fill(~legal, fill)


def prepared_shape(space: gym.Space) -> tuple[int, ...]:
    """The shape one observation has after ``ObsAdapter.prepare`` (CHW for images)."""
    if isinstance(space, gym.spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, MaskedBox):  # a flattened observation with its mask: the features, as a board if one
        return space.board or (space.features,)
    shape = tuple(space.shape)
    if is_image(space):
        if len(shape) == 2:
            return (1, *shape)
        if _is_hwc(shape):
            return (shape[2], shape[0], shape[1])
    return shape


def resolve_name(space: gym.Space, name: str = "auto") -> str:
    """``auto`` → ``nature_cnn`` for images, ``mlp`` otherwise; other names must be in ``ENCODERS``."""
    if name == "auto":
        return "nature_cnn" if is_image(space) else "mlp"
    check_choice("encoder", name, ["auto", *sorted(ENCODERS)])
    return name


def _first_mismatch(expected: dict[str, torch.Tensor], state: dict[str, object]) -> str:
    """The first key of ``state`` that a strict ``load_state_dict`` would reject, in words ("" if none)."""
    for key, tensor in expected.items():
        if key not in state:
            return f"missing key '{key}'"
        value = state[key]
        if not isinstance(value, torch.Tensor):
            return f"key '{key}' holds a {type(value).__name__}, not a tensor"
        if value.shape != tensor.shape:
            return f"key '{key}' has shape {list(value.shape)}, expected {list(tensor.shape)}"
    extra = [key for key in state if key not in expected]
    return f"unexpected key '{extra[0]}'" if extra else ""


def load_encoder_weights(encoder: ObsAdapter, name: str, path: str = "", freeze: bool = False) -> None:
    """Load ``path`` (a state dict of the body alone) into ``encoder.body`` strictly; then freeze if asked.

    Called where agents build their networks, so a learner and its workers' copies start alike; bad
    input is a one-line ``ConfigError``. Freezing without weights gives a fixed random-feature baseline.
    """
    if path:
        fix = f"pretrain and save the body of encoder '{name}' for this env's observations"
        if not Path(path).is_file():
            raise ConfigError(f"encoder_weights '{path}' is not a file; give the path of a saved encoder "
                              "state dict, or leave encoder_weights empty for a random init")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # corrupt zip, pickle of non-tensor objects, truncated file, ...
            raise ConfigError(f"encoder_weights '{path}' is not a readable torch state dict ({load_failure(e)}); "
                              f"{fix} with torch.save(body.state_dict(), path)") from None
        if not isinstance(state, dict):
            raise ConfigError(f"encoder_weights '{path}' holds a {type(state).__name__}, not a state dict; "
                              f"{fix} with torch.save(body.state_dict(), path)")
        mismatch = _first_mismatch(encoder.body.state_dict(), state)
        if mismatch:
            raise ConfigError(f"encoder_weights '{path}' does not fit encoder '{name}' on these observations "
                              f"({mismatch}); {fix}, or set encoder= to the one they came from")
        encoder.body.load_state_dict(state)
    if freeze:
        encoder.freeze()


def build_encoder(obs_space: gym.Space, name: str = "auto", hidden_sizes: Sequence[int] = (64, 64),
                  activation: str = "relu", weights: str = "", freeze: bool = False,
                  normalize: bool = False) -> ObsAdapter:
    """The encoder an agent's config asks for: the MLP settings apply to an MLP alone, then ``weights``
    are loaded and the body frozen when ``freeze`` (``load_encoder_weights``); ``normalize`` standardises
    vector observations by their running moments."""
    name = resolve_name(obs_space, name)
    kwargs = {"hidden_sizes": hidden_sizes, "activation": activation} if name == "mlp" else {}
    encoder = make_encoder(obs_space, name, normalize, **kwargs)
    load_encoder_weights(encoder, name, weights, freeze)
    return encoder


def check_space(obs_space: gym.Space) -> None:
    """Deep agents read Box observations (vectors, grids, images) and Discrete ones (one-hot); else a ConfigError."""
    if not isinstance(obs_space, gym.spaces.Box | gym.spaces.Discrete):
        raise ConfigError(f"observation space {type(obs_space).__name__} ({obs_space}) is not supported by the deep "
                          "agents, which take Box or Discrete observations; wrap the env (e.g. "
                          "gymnasium.wrappers.FlattenObservation) or pick another env")


def make_encoder(obs_space: gym.Space, name: str = "auto", normalize: bool = False, **kwargs: object) -> ObsAdapter:
    """An ``ObsAdapter`` around the named body; ``kwargs`` go to the body (``hidden_sizes`` for ``mlp``)."""
    check_space(obs_space)
    name = resolve_name(obs_space, name)
    if name in IMAGE_ENCODERS and not is_image(obs_space):
        raise ConfigError(f"encoder '{name}' needs image observations (uint8 Box), got {obs_space}; "
                          "use --set encoder=mlp or an image env")
    if name == "minatar_cnn" and is_image(obs_space):
        raise ConfigError(f"encoder 'minatar_cnn' takes grids of numbers (MinAtar), got uint8 images {obs_space}; "
                          "use --set encoder=nature_cnn")
    return ObsAdapter(obs_space, ENCODERS[name](prepared_shape(obs_space), **kwargs), normalize)
