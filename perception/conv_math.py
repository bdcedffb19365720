"""Arithmetic of convolution stacks: output sizes and receptive fields, per spatial dimension.

Output size of a convolution or pooling layer (Dumoulin & Visin 2016, "A guide to convolution
arithmetic"): ``floor((W + 2P - D(K - 1) - 1) / S) + 1``, which is ``(W + 2P - K) / S + 1`` when the
dilation ``D`` is 1. Receptive field of a stack (Araujo et al. 2019, "Computing Receptive Fields of
Convolutional Neural Networks"): ``r_L = 1 + sum_l (K_l - 1) * prod_{i<l} S_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ConvSpec:
    """One convolution or pooling layer along a single spatial dimension."""

    kernel: int
    """Kernel size K."""
    stride: int = 1
    """Stride S."""
    padding: int = 0
    """Zero padding P on each side."""
    dilation: int = 1
    """Dilation D; the kernel spans D(K - 1) + 1 pixels."""

    @property
    def span(self) -> int:
        """Pixels one kernel application covers: the dilated kernel size."""
        return self.dilation * (self.kernel - 1) + 1


def conv_output_size(size: int, spec: ConvSpec) -> int:
    """``floor((W + 2P - D(K-1) - 1) / S) + 1``; raises if the kernel does not fit."""
    out = (size + 2 * spec.padding - spec.span) // spec.stride + 1
    if out < 1:
        raise ValueError(f"input of size {size} is too small for {spec}")
    return out


def conv_transpose_output_size(size: int, spec: ConvSpec, output_padding: int = 0) -> int:
    """Inverse of ``conv_output_size``: ``(W - 1)S - 2P + D(K-1) + output_padding + 1``."""
    return (size - 1) * spec.stride - 2 * spec.padding + spec.span + output_padding


def stack_output_size(size: int, specs: list[ConvSpec]) -> int:
    """Output size after applying ``specs`` in order."""
    for spec in specs:
        size = conv_output_size(size, spec)
    return size


def receptive_field(specs: list[ConvSpec]) -> int:
    """Input pixels (along one dimension) that one output unit of the stack can see."""
    field, jump = 1, 1  # jump: distance in input pixels between neighbouring units of the current layer
    for spec in specs:
        field += (spec.span - 1) * jump
        jump *= spec.stride
    return field


def _first(value: int | tuple[int, ...], dim: int) -> int:
    return value if isinstance(value, int) else value[dim]


def specs_of(module: nn.Module, dim: int = 0) -> list[ConvSpec]:
    """The ``ConvSpec``s of every ``Conv2d`` and max/avg pooling layer in ``module``, in registration order.

    Registration order is forward order for ``nn.Sequential`` stacks; skip connections are not modelled.
    """
    specs = []
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
            specs.append(ConvSpec(_first(layer.kernel_size, dim), _first(layer.stride, dim),
                                  _first(layer.padding, dim), _first(layer.dilation, dim)))
        elif isinstance(layer, nn.AvgPool2d):
            specs.append(ConvSpec(_first(layer.kernel_size, dim), _first(layer.stride, dim),
                                  _first(layer.padding, dim)))
    return specs
