"""A small YOLO-style single-shot detector: backbone → optional FPN neck → per-scale head → decode.

- Redmon et al. 2016, "You Only Look Once: Unified, Real-Time Object Detection": an S×S grid, each
  cell predicting boxes with an objectness score and class scores in one forward pass.
- Redmon & Farhadi 2017, "YOLO9000": B anchor priors per cell (from k-means, see ``anchors.py``),
  decoded as ``b_x = c_x + σ(t_x)``, ``b_y = c_y + σ(t_y)``, ``b_w = p_w·e^{t_w}``, ``b_h = p_h·e^{t_h}``.
- Redmon & Farhadi 2018, "YOLOv3": Darknet-style residual backbone, independent sigmoid class scores,
  and predictions at several scales merged top-down as in Lin et al. 2017, "Feature Pyramid Networks
  for Object Detection" (lateral 1×1 convolutions + 2× nearest upsampling).

Per level the raw output is ``[N, B, S, S, 5 + C]`` with channels ``(t_x, t_y, t_w, t_h, t_o, t_c...)``.
Anchors are a buffer ``[L, B, 2]`` of ``(p_w, p_h)`` in pixels, finest level first, so they travel in
the ``state_dict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from perception.detection.boxes import batched_nms, cxcywh_to_xyxy


@dataclass
class YoloConfig:
    image_size: int = 64
    """Square input side in pixels; must be a multiple of the coarsest stride."""
    num_classes: int = 3
    """Number of object classes C."""
    anchors_per_scale: int = 3
    """Anchors B predicted by each cell of each level."""
    fpn: bool = False
    """Add an FPN neck and a second, coarser level (strides 8 and 16 instead of 8 alone)."""
    width: int = 8
    """Channels of the stem; each stride-2 stage doubles them (8 learnt more per CPU-second than 16)."""

    @property
    def strides(self) -> tuple[int, ...]:
        """Pixels per grid cell at each output level, finest first."""
        return (8, 16) if self.fpn else (8,)

    def grid_sizes(self) -> tuple[int, ...]:
        """S at each level."""
        return tuple(self.image_size // s for s in self.strides)


class Detections(NamedTuple):
    """Final detections for one image after thresholding and per-class NMS, best score first."""

    boxes: torch.Tensor
    """``[K, 4]`` ``(x1, y1, x2, y2)`` pixels."""
    scores: torch.Tensor
    """``[K]`` objectness × class probability."""
    labels: torch.Tensor
    """``[K]`` int64 class indices."""


class ConvBN(nn.Sequential):
    """Darknet's unit: convolution (no bias) → batch norm → leaky ReLU(0.1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                      bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.1),
        )


class DarkResidual(nn.Module):
    """Darknet-53's residual: ``x + conv3×3(conv1×1(x))`` with a channel bottleneck of one half."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = ConvBN(channels, channels // 2, kernel_size=1)
        self.expand = ConvBN(channels // 2, channels, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.expand(self.reduce(x))  # [N, C, H, W]


class Backbone(nn.Module):
    """Stem then stride-2 stages, each ``ConvBN/2 → DarkResidual``; returns the maps at ``strides``."""

    def __init__(self, width: int, strides: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = ConvBN(3, width)
        self.stages = nn.ModuleList()
        self.out_strides = strides
        channels = width
        for _ in range(int(math.log2(max(strides)))):
            stage = nn.Sequential(ConvBN(channels, 2 * channels, stride=2), DarkResidual(2 * channels))
            self.stages.append(stage)
            channels *= 2
        self.out_channels = tuple(width * s for s in strides)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)  # [N, w, H, W]
        features = []
        for i, stage in enumerate(self.stages):
            x = stage(x)  # [N, w·2^(i+1), H/2^(i+1), W/2^(i+1)]
            if 2 ** (i + 1) in self.out_strides:
                features.append(x)
        return features


class FPN(nn.Module):
    """Top-down pathway with lateral 1×1 connections (Lin et al. 2017, Fig. 3), then a 3×3 smoothing."""

    def __init__(self, in_channels: tuple[int, ...], channels: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(ConvBN(c, channels, kernel_size=1) for c in in_channels)
        self.smooth = nn.ModuleList(ConvBN(channels, channels) for _ in in_channels)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        merged = [self.lateral[-1](features[-1])]  # coarsest: [N, channels, S_L, S_L]
        for lateral, feature in zip(reversed(self.lateral[:-1]), reversed(features[:-1]), strict=True):
            top_down = F.interpolate(merged[0], scale_factor=2, mode="nearest")  # [N, channels, 2S, 2S]
            merged.insert(0, lateral(feature) + top_down)
        return [smooth(m) for smooth, m in zip(self.smooth, merged, strict=True)]


class YOLO(nn.Module):
    """Backbone (+ FPN) + a 1×1 prediction head per level; ``forward`` returns raw ``t`` per level."""

    def __init__(self, config: YoloConfig, anchors: torch.Tensor) -> None:
        super().__init__()
        levels, b = len(config.strides), config.anchors_per_scale
        if anchors.shape != (levels * b, 2) and anchors.shape != (levels, b, 2):
            raise ValueError(f"expected {levels}×{b} anchors, got shape {tuple(anchors.shape)}")
        self.config = config
        self.register_buffer("anchors", anchors.reshape(levels, b, 2).float())  # [L, B, 2] pixels
        self.backbone = Backbone(config.width, config.strides)
        channels = self.backbone.out_channels
        if config.fpn:
            neck_channels = self.backbone.out_channels[0]
            self.neck: nn.Module = FPN(channels, neck_channels)
            channels = (neck_channels,) * levels
        else:
            self.neck = nn.Identity()
        self.refine = nn.ModuleList(ConvBN(c, c) for c in channels)
        outputs_per_cell = b * (5 + config.num_classes)
        self.heads = nn.ModuleList(nn.Conv2d(c, outputs_per_cell, kernel_size=1) for c in channels)
        for head in self.heads:  # objectness starts ≈ 0.01 so the many empty cells don't swamp early steps
            head.bias.data.view(b, 5 + config.num_classes)[:, 4] = math.log(0.01 / 0.99)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``images [N, 3, H, W]`` in [0, 1] → per level ``[N, B, S, S, 5 + C]``."""
        features = self.neck(self.backbone(images))
        outputs = []
        for refine, head, feature in zip(self.refine, self.heads, features, strict=True):
            t = head(refine(feature))  # [N, B·(5+C), S, S]
            n, _, s, _ = t.shape
            t = t.view(n, self.config.anchors_per_scale, -1, s, s)  # [N, B, 5+C, S, S]
            outputs.append(t.permute(0, 1, 3, 4, 2).contiguous())  # [N, B, S, S, 5+C]
        return outputs

    def decode(self, outputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw outputs → boxes ``[N, A, 4]`` (xyxy px), objectness ``[N, A]``, class probs ``[N, A, C]``."""
        return decode(outputs, self.anchors, self.config.strides)

    @torch.no_grad()
    def detect(self, images: torch.Tensor, score_threshold: float = 0.01, iou_threshold: float = 0.5,
               max_detections: int = 100) -> list[Detections]:
        """Forward, decode, keep ``score > score_threshold``, per-class NMS; one ``Detections`` per image."""
        boxes, objectness, class_probs = self.decode(self(images))
        class_score, labels = class_probs.max(dim=-1)  # [N, A], [N, A]
        scores = objectness * class_score  # [N, A]
        results = []
        for box, score, label in zip(boxes, scores, labels, strict=True):
            confident = score > score_threshold
            box, score, label = box[confident], score[confident], label[confident]
            keep = batched_nms(box, score, label, iou_threshold)[:max_detections]
            results.append(Detections(box[keep], score[keep], label[keep]))
        return results


def decode(outputs: list[torch.Tensor], anchors: torch.Tensor,
           strides: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Apply the YOLOv2 parametrisation at every level and flatten levels, anchors and cells into A.

    ``b_x = (c_x + σ(t_x))·stride``, ``b_y = (c_y + σ(t_y))·stride``, ``b_w = p_w·e^{t_w}``,
    ``b_h = p_h·e^{t_h}``; objectness ``σ(t_o)``; class probabilities ``σ(t_c)``.
    """
    all_boxes, all_objectness, all_classes = [], [], []
    for t, level_anchors, stride in zip(outputs, anchors, strides, strict=True):
        n, b, s, _, _ = t.shape
        c_y, c_x = torch.meshgrid(torch.arange(s, device=t.device), torch.arange(s, device=t.device),
                                  indexing="ij")  # [S, S] each: row index is y
        b_x = (c_x + torch.sigmoid(t[..., 0])) * stride  # [N, B, S, S]
        b_y = (c_y + torch.sigmoid(t[..., 1])) * stride
        b_w = level_anchors[:, 0].view(1, b, 1, 1) * torch.exp(t[..., 2])
        b_h = level_anchors[:, 1].view(1, b, 1, 1) * torch.exp(t[..., 3])
        boxes = cxcywh_to_xyxy(torch.stack((b_x, b_y, b_w, b_h), dim=-1))  # [N, B, S, S, 4]
        all_boxes.append(boxes.reshape(n, -1, 4))  # [N, B·S·S, 4]
        all_objectness.append(torch.sigmoid(t[..., 4]).reshape(n, -1))  # [N, B·S·S]
        all_classes.append(torch.sigmoid(t[..., 5:]).reshape(n, b * s * s, -1))  # [N, B·S·S, C]
    return torch.cat(all_boxes, 1), torch.cat(all_objectness, 1), torch.cat(all_classes, 1)
