"""The convolutional encoder and decoder every model here is built from (DCGAN's layout, Radford et al. 2016).

Each stage halves (encoder) or doubles (decoder) the spatial size with a 4×4 stride-2 convolution, so an
``image_size`` of 32 with three stages gives a 4×4 bottleneck. Both are ``nn.Module``s with
``features_dim``, the protocol agents plug encoders in through:

- ``ConvEncoder``: image ``[B, C, H, W]`` → features ``[B, features_dim]`` (the flattened last stage);
- ``ConvDecoder``: code ``[B, latent_dim]`` → image ``[B, C, H, W]`` in ``[0, 1]``; ``features_dim`` is the
  code size it reads;
- ``LayeredDecoder``: the same contract, drawing a background and one object placed on it by a spatial
  transformer; ``DECODERS`` names both, and ``make_decoder(name, ...)`` builds one.

Following Radford et al., batch normalisation (when on) skips the encoder's first layer and the decoder's
output layer; the encoder uses leaky ReLU (slope 0.2), the decoder ReLU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

MIN_SCALE = 0.05
"""The layered decoder's default smallest frame side, a fraction of the image's."""


def bottleneck_size(image_size: int, stages: int) -> int:
    """Side of the smallest feature map; ``ValueError`` unless ``image_size`` halves cleanly ``stages`` times."""
    if image_size <= 0 or image_size % 2**stages:
        raise ValueError(f"image_size must be a positive multiple of 2**{stages} = {2**stages}, got {image_size}")
    return image_size // 2**stages


class ConvEncoder(nn.Module):
    """Image → flattened features through stride-2 convolutions with ``channels[k]`` filters at stage ``k``."""

    def __init__(self, in_channels: int, image_size: int, channels: Sequence[int], batch_norm: bool = False) -> None:
        super().__init__()
        side = bottleneck_size(image_size, len(channels))
        layers: list[nn.Module] = []
        for k, (c_in, c_out) in enumerate(zip([in_channels, *channels[:-1]], channels, strict=True)):
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not (batch_norm and k > 0)))
            if batch_norm and k > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.features_dim = channels[-1] * side * side

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)  # [B, C, H, W] -> [B, features_dim]


class ConvDecoder(nn.Module):
    """Code → image: a linear map to the bottleneck, then stride-2 transposed convolutions and a sigmoid.

    With ``condition_dim`` > 0 the ``condition`` (a class's one-hot) is read beside the code and again, broadcast
    over the map as extra input channels, by every transposed convolution, so that no layer has to carry it
    on for the next.
    """

    def __init__(self, latent_dim: int, out_channels: int, image_size: int, channels: Sequence[int],
                 batch_norm: bool = False, condition_dim: int = 0) -> None:
        super().__init__()
        self.side = bottleneck_size(image_size, len(channels))
        self.features_dim = latent_dim
        self.condition_dim = condition_dim
        self.channels = list(reversed(channels))  # widest first: (128, 64, 32) for encoder channels (32, 64, 128)
        self.project = nn.Linear(latent_dim + condition_dim, self.channels[0] * self.side * self.side,
                                 bias=not batch_norm)
        self.project_norm = nn.BatchNorm1d(self.project.out_features) if batch_norm else nn.Identity()
        stages: list[nn.Module] = []
        for c_in, c_out in zip(self.channels[:-1], self.channels[1:], strict=True):
            layers = [nn.ConvTranspose2d(c_in + condition_dim, c_out, 4, stride=2, padding=1, bias=not batch_norm)]
            stages.append(nn.Sequential(*layers, *([nn.BatchNorm2d(c_out)] if batch_norm else []), nn.ReLU()))
        stages.append(nn.Sequential(nn.ConvTranspose2d(self.channels[-1] + condition_dim, out_channels, 4, stride=2,
                                                       padding=1), nn.Sigmoid()))
        self.stages = nn.ModuleList(stages)

    def _with_condition(self, hidden: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        if not self.condition_dim:
            return hidden
        b, _, h, w = hidden.shape
        planes = condition[:, :, None, None].expand(b, self.condition_dim, h, w)  # [B, condition_dim, h, w]
        return torch.cat([hidden, planes], dim=1)  # [B, c + condition_dim, h, w]

    def forward(self, code: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if self.condition_dim:
            if condition is None:
                raise ValueError("this decoder is conditional: pass the condition")
            code = torch.cat([code, condition], dim=1)  # [B, latent + condition_dim]
        hidden = torch.relu(self.project_norm(self.project(code)))  # [B, latent] -> [B, C0 * s * s]
        hidden = hidden.view(-1, self.channels[0], self.side, self.side)  # [B, C0, s, s]
        for stage in self.stages:  # each doubles the side: ... -> [B, out_channels, image_size, image_size]
            hidden = stage(self._with_condition(hidden, condition))
        return hidden


class LayeredDecoder(nn.Module):
    """(code, class) → image as two layers: a smooth background and one object of one colour over it.

    What an object is and where it lies are kept apart. The object's mask ``α`` is drawn in its own frame by
    a ``ConvDecoder`` that reads the one-hot class and a ``style_dim``-number style from the code (what the
    class leaves open, such as a triangle's turn) at every stage; the rest of the code says where the object
    lies and how large it is, its colour and the background. A spatial transformer (Jaderberg et al. 2015:
    an affine sampling grid, bilinear sampling) places the mask, and the image is
    ``α · colour + (1 − α) · background``: the layered generation of LR-GAN (Yang et al. 2017) and of AIR's
    one-object case (Eslami et al. 2016). A plain decoder has to learn each shape again at every position,
    size and colour; this one learns it once per class, in one frame. The mask fades to 0 over the outer
    eighth of its frame (``window``), so the object is what lies inside the frame (not a frame around a
    hole), and the background is a 2 × 2 map upsampled bilinearly, a smooth gradient that cannot draw the
    object itself. Conditional models only: without a class there is nothing to draw the mask from.

    With ``turns`` = ``K`` > 0 the object's orientation is a discrete latent instead of a style: the mask is
    one template per class (it reads the class alone, so it is drawn once per class in a batch, at the
    image's full side), and the frame is turned by one of ``K`` equally spaced angles ``2πk/K``, given by
    the condition's last ``K`` entries (a one-hot). Every orientation of an object is then the same template
    turned, as in transformation-invariant clustering (Frey & Jojic 2003), and every prior draw lands on
    one of the ``K`` turns of a learned template; the rest of the decoder never sees the turn.
    """

    style_dim = 2
    supersample = 2
    """Samples per image pixel along each side when the mask is placed, averaged: a template shrunk to half its
    side or more is antialiased, not aliased (a bilinear sample a pixel skips or hits its finest detail at random)."""

    def __init__(self, latent_dim: int, out_channels: int, image_size: int, channels: Sequence[int],
                 batch_norm: bool = False, condition_dim: int = 0, turns: int = 0,
                 min_scale: float = MIN_SCALE) -> None:
        super().__init__()
        self.features_dim, self.condition_dim, self.turns, self.min_scale = latent_dim, condition_dim, turns, min_scale
        if not 0 < min_scale < 1:
            raise ValueError(f"min_scale is the smallest frame side as a fraction of the image's: need 0 < it < 1, "
                             f"got {min_scale}")
        if condition_dim - turns < 1:
            raise ValueError("the layered decoder draws its object from the class: use it in a conditional model")
        self.out_channels, self.image_size = out_channels, image_size
        if len(channels) < 2:
            raise ValueError("the layered decoder needs two stages or more: it draws its mask at half the image's side")
        # Without turns the mask, read per image, is drawn at half the image's side with one stage fewer (an
        # object is smaller than the image) and reads the class and the style at every stage; with turns it is
        # one template per class, cheap at the full side. No batch norm, even in a GAN: a mask must not depend
        # on the batch.
        classes, style_dim = condition_dim - turns, 0 if turns else self.style_dim
        side, stages = (image_size, channels) if turns else (image_size // 2, channels[1:])
        self.mask = ConvDecoder(style_dim, 1, side, stages, condition_dim=classes + style_dim)
        edge = ((1 - torch.linspace(-1, 1, side).abs()) * 8).clamp(max=1)  # [side]: 0 at the rim
        self.register_buffer("window", (edge[:, None] * edge[None, :])[None, None], persistent=False)
        hidden = 2 * channels[-1]
        self.layout = nn.Sequential(nn.Linear(latent_dim + classes, hidden), nn.ReLU())
        self.to_style = None if turns else nn.Linear(hidden, style_dim)
        self.to_pose = nn.Linear(hidden, 3)  # translation (x, y) and scale, before their squashing
        self.to_colour = nn.Linear(hidden, out_channels)
        self.to_background = nn.Linear(hidden, out_channels * 2 * 2)

    @staticmethod
    def place(pose: torch.Tensor, angle: torch.Tensor | None = None, min_scale: float = MIN_SCALE) -> torch.Tensor:
        """Affine sampling matrices ``[B, 2, 3]`` from image coordinates to the object's frame (both in
        ``[−1, 1]``): ``u_object = R(−θ) (u_image − t) / s`` for a frame moved to ``t ∈ (−1, 1)²``, shrunk by
        ``s ∈ (min_scale, 1)`` and turned by ``θ`` (``angle`` ``[B]``, radians; none when ``None``)."""
        t, s = torch.tanh(pose[:, :2]), min_scale + (1 - min_scale) * torch.sigmoid(pose[:, 2:3])  # [B, 2], [B, 1]
        if angle is None:
            angle = torch.zeros_like(pose[:, 0])
        cos, sin = torch.cos(angle), torch.sin(angle)  # [B] each
        unturn = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)  # [B, 2, 2]: R(−θ)
        linear = unturn / s[:, :, None]  # [B, 2, 2]
        return torch.cat([linear, -(linear @ t[:, :, None])], 2)  # [B, 2, 3]

    def place_mask(self, drawn: torch.Tensor, pose: torch.Tensor, angle: torch.Tensor | None = None) -> torch.Tensor:
        """The mask ``drawn`` ``[B, 1, H, W]`` (α in its own frame) placed on the image by ``pose`` and ``angle``
        (``place``): ``[B, 1, S, S]``, each pixel the mean of ``supersample²`` bilinear samples, 0 outside the frame."""
        side = self.supersample * self.image_size
        centres = (2 * torch.arange(side, dtype=pose.dtype, device=pose.device) + 1) / side - 1  # [side] in [−1, 1]
        theta = self.place(pose, angle, self.min_scale)[:, None, None]  # [B, 1, 1, 2, 3]
        # F.affine_grid's grid, θ · (x, y, 1) at every sample, written out: it is separable in x and y, and a
        # sum of three broadcasts costs a fraction of the batched matrix product affine_grid runs.
        grid = (theta[..., 0] * centres[None, None, :, None] + theta[..., 1] * centres[None, :, None, None]
                + theta[..., 2])  # [B, side, side, 2]
        return F.avg_pool2d(F.grid_sample(drawn, grid, align_corners=False), self.supersample)

    def forward(self, code: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is None:
            raise ValueError("this decoder is conditional: pass the condition")
        classes = condition[:, :self.condition_dim - self.turns]  # [B, classes]
        hidden = self.layout(torch.cat([code, classes], dim=1))  # [B, hidden]
        if self.turns:  # the class's template, turned by its one-hot's angle
            drawn = self.templates(classes)  # [B, 1, S, S]
            angle = self.turn_angle(condition[:, -self.turns:].argmax(1).to(code.dtype))  # [B]
        else:
            style = self.to_style(hidden)  # [B, style_dim]
            drawn = self.mask(style, torch.cat([condition, style], 1)) * self.window  # [B, 1, S/2, S/2]
            angle = None
        return self.compose(self.place_mask(drawn, self.to_pose(hidden), angle), hidden)  # [B, C, S, S]

    def every_turn(self, code: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """The image under each of the ``K`` turns, ``[K, B, C, S, S]`` (``forward`` with each turn's one-hot):
        the layout, colours and background are drawn once, only the template is placed ``K`` times."""
        k, b = self.turns, len(code)
        hidden = self.layout(torch.cat([code, classes], dim=1))  # [B, hidden]
        angle = self.turn_angle(torch.arange(k, dtype=code.dtype, device=code.device)).repeat_interleave(b)
        alpha = self.place_mask(self.templates(classes).repeat(k, 1, 1, 1), self.to_pose(hidden).repeat(k, 1), angle)
        return self.compose(alpha.view(k, b, *alpha.shape[1:]), hidden)

    def turn_angle(self, turn: torch.Tensor) -> torch.Tensor:
        """The angle ``2πk/K`` of turn ``k`` (radians, float ``[B]``)."""
        return 2 * torch.pi / self.turns * turn

    def templates(self, classes: torch.Tensor) -> torch.Tensor:
        """Each row's class template ``[B, 1, S, S]`` (α in its own frame, faded at the rim), drawn once per
        distinct class in the batch."""
        distinct, which = classes.unique(dim=0, return_inverse=True)  # [N, classes], [B]
        return self.mask(distinct[:, :0], distinct)[which] * self.window

    def compose(self, alpha: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """``α · colour + (1 − α) · background`` for the colours and background ``hidden`` ``[B, hidden]`` sets;
        ``alpha`` is ``[..., B, 1, S, S]``."""
        b, size = len(hidden), self.image_size
        coarse = self.to_background(hidden).view(b, self.out_channels, 2, 2)
        background = torch.sigmoid(F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False))
        colour = torch.sigmoid(self.to_colour(hidden))[:, :, None, None]  # [B, C, 1, 1]
        return alpha * colour + (1 - alpha) * background  # [..., B, C, S, S]


DECODERS = {"conv": ConvDecoder, "layered": LayeredDecoder}
"""``conv``: DCGAN's transposed convolutions; ``layered``: a background and one placed object."""


def with_turn(condition: torch.Tensor, turn: torch.Tensor | None, turns: int) -> torch.Tensor:
    """The decoder's condition ``[B, C]`` with each image's one-hot turn ``[B, turns]`` beside it (as it is when
    ``turns`` is 0)."""
    if not turns:
        return condition
    if turn is None:
        raise ValueError("this model turns its object: pass the turn")
    return torch.cat([condition, F.one_hot(turn.to(condition.device), turns).to(condition.dtype)], dim=1)


def uniform_turns(turns: int, num: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
    """``num`` turns ``[num]`` drawn uniformly from ``turns`` (``None`` when the model has none)."""
    return torch.randint(turns, (num,), generator=generator) if turns else None


def make_decoder(name: str, latent_dim: int, out_channels: int, image_size: int, channels: Sequence[int],
                 batch_norm: bool = False, condition_dim: int = 0, turns: int = 0, min_scale: float = MIN_SCALE
                 ) -> nn.Module:
    """The decoder ``DECODERS[name]``; ``ValueError`` naming the choices for any other name. ``turns`` and
    ``min_scale``: the layered decoder's (the condition's last ``turns`` entries, its frame's smallest side);
    the conv decoder has no frame to turn or shrink."""
    if name not in DECODERS:
        raise ValueError(f"unknown decoder {name!r}; choose one of {', '.join(DECODERS)}")
    if name == "layered":
        return LayeredDecoder(latent_dim, out_channels, image_size, channels, batch_norm, condition_dim, turns,
                              min_scale)
    if turns:
        raise ValueError(f"only the layered decoder turns its object, not {name}")
    return DECODERS[name](latent_dim, out_channels, image_size, channels, batch_norm, condition_dim)
