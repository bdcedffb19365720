"""Encoders and blocks: output shapes, the conv-arithmetic helper against real layers, receptive fields."""

import pytest
import torch
from torch import nn

from perception.blocks import DepthwiseSeparableConv, ResidualBlock, SqueezeExcitation
from perception.conv_math import (
    ConvSpec,
    conv_output_size,
    conv_transpose_output_size,
    receptive_field,
    specs_of,
    stack_output_size,
)
from perception.encoders import ImpalaCNN, NatureCNN, SmallAtariCNN


@pytest.mark.parametrize("encoder_cls", [NatureCNN, SmallAtariCNN, ImpalaCNN])
@pytest.mark.parametrize(("in_channels", "input_hw", "features_dim"), [(4, (84, 84), 64), (3, (64, 48), 32)])
def test_encoders_map_images_to_features_dim(encoder_cls, in_channels, input_hw, features_dim):
    encoder = encoder_cls(in_channels=in_channels, input_hw=input_hw, features_dim=features_dim)
    out = encoder(torch.rand(2, in_channels, *input_hw))
    assert encoder.features_dim == features_dim
    assert out.shape == (2, features_dim)
    assert (out >= 0).all()  # ends in a ReLU


def test_encoder_defaults_follow_the_papers():
    assert NatureCNN().features_dim == 512
    assert SmallAtariCNN().features_dim == 256
    assert ImpalaCNN().features_dim == 256

    def layers(encoder):
        convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d)]
        return [(m.out_channels, m.kernel_size[0], m.stride[0]) for m in convs]

    assert layers(NatureCNN()) == [(32, 8, 4), (64, 4, 2), (64, 3, 1)]
    assert layers(SmallAtariCNN()) == [(16, 8, 4), (32, 4, 2)]
    assert [c for c, _, _ in layers(ImpalaCNN())] == [16] * 5 + [32] * 10  # per stack: conv + 2 blocks of 2
    assert NatureCNN().fc[0].in_features == 64 * 7 * 7
    assert SmallAtariCNN().fc[0].in_features == 32 * 9 * 9
    assert ImpalaCNN().fc[0].in_features == 32 * 11 * 11  # 84 → 42 → 21 → 11


def test_blocks_keep_or_set_shapes():
    x = torch.randn(2, 8, 10, 12)
    assert ResidualBlock(8)(x).shape == x.shape
    assert SqueezeExcitation(8)(x).shape == x.shape
    assert DepthwiseSeparableConv(8, 16)(x).shape == (2, 16, 10, 12)
    assert DepthwiseSeparableConv(8, 16, kernel_size=3, stride=2, padding=1)(x).shape == (2, 16, 5, 6)


def test_residual_block_is_identity_when_its_last_conv_is_zero():
    block = ResidualBlock(4)
    nn.init.zeros_(block.conv1.weight)
    nn.init.zeros_(block.conv1.bias)
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(block(x), x)


def test_depthwise_separable_has_the_factored_parameter_count():
    conv = DepthwiseSeparableConv(8, 16, kernel_size=3)
    assert sum(p.numel() for p in conv.parameters()) == (8 * 3 * 3 + 8) + (8 * 16 + 16)
    assert sum(p.numel() for p in nn.Conv2d(8, 16, 3).parameters()) == 8 * 16 * 9 + 16  # the unfactored cost


def test_squeeze_excitation_scales_each_channel_by_one_gate_in_0_1():
    se = SqueezeExcitation(6, reduction=2)
    x = torch.rand(3, 6, 5, 5) + 0.1
    ratio = se(x) / x  # [B, C, H, W], constant over H and W
    torch.testing.assert_close(ratio, ratio[:, :, :1, :1].expand_as(ratio))
    assert ((ratio > 0) & (ratio < 1)).all()


@pytest.mark.parametrize(
    ("size", "spec", "expected"),
    [
        (84, ConvSpec(8, 4), 20),  # (84 - 8) / 4 + 1
        (20, ConvSpec(4, 2), 9),  # (20 - 4) / 2 + 1
        (9, ConvSpec(3, 1), 7),
        (64, ConvSpec(3, 1, 1), 64),  # "same" padding
        (7, ConvSpec(3, 2, 1), 4),  # floor((7 + 2 - 3) / 2) + 1
        (32, ConvSpec(3, 1, 0, dilation=2), 28),  # kernel spans 5
    ],
)
def test_conv_output_size_by_hand(size, spec, expected):
    assert conv_output_size(size, spec) == expected


@pytest.mark.parametrize("size", [17, 32, 84])
@pytest.mark.parametrize(
    "spec",
    [ConvSpec(3), ConvSpec(5, 2, 2), ConvSpec(4, 3, 1), ConvSpec(3, 1, 2, dilation=2), ConvSpec(7, 4, 3, 3)],
)
def test_conv_output_size_matches_real_layers(size, spec):
    conv = nn.Conv2d(1, 1, spec.kernel, spec.stride, spec.padding, spec.dilation)
    pool = nn.MaxPool2d(spec.kernel, spec.stride, min(spec.padding, spec.kernel // 2), spec.dilation)
    assert conv(torch.zeros(1, 1, size, size)).shape[-1] == conv_output_size(size, spec)
    pool_spec = ConvSpec(spec.kernel, spec.stride, min(spec.padding, spec.kernel // 2), spec.dilation)
    assert pool(torch.zeros(1, 1, size, size)).shape[-1] == conv_output_size(size, pool_spec)
    up = nn.ConvTranspose2d(1, 1, spec.kernel, spec.stride, spec.padding, dilation=spec.dilation)
    assert up(torch.zeros(1, 1, size, size)).shape[-1] == conv_transpose_output_size(size, spec)


def test_conv_output_size_rejects_a_kernel_that_does_not_fit():
    with pytest.raises(ValueError):
        conv_output_size(4, ConvSpec(8, 4))


@pytest.mark.parametrize("encoder_cls", [NatureCNN, SmallAtariCNN, ImpalaCNN])
@pytest.mark.parametrize("hw", [(84, 84), (96, 72)])
def test_stack_output_size_matches_encoder_bodies(encoder_cls, hw):
    encoder = encoder_cls(input_hw=hw)
    conv_stack = nn.Sequential(*list(encoder.body.children())[:-1])  # everything before Flatten
    out = conv_stack(torch.zeros(1, 4, *hw))
    assert out.shape[-2:] == (stack_output_size(hw[0], specs_of(encoder.body, dim=0)),
                              stack_output_size(hw[1], specs_of(encoder.body, dim=1)))


def _measured_receptive_field(stack: nn.Module, size: int) -> int:
    """Rows of input that move the centre output unit, for a stack whose weights are all positive."""
    for p in stack.parameters():
        nn.init.constant_(p, 0.01)  # every path carries gradient through the ReLUs
    x = torch.ones(1, stack[0].in_channels, size, size, requires_grad=True)
    out = stack(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize(
    ("encoder_cls", "expected"),
    [(NatureCNN, 36), (SmallAtariCNN, 20)],  # 1 + 7 + 3·4 + 2·8 and 1 + 7 + 3·4
)
def test_receptive_field_by_hand_and_by_gradient(encoder_cls, expected):
    encoder = encoder_cls()
    specs = specs_of(encoder.body)
    assert receptive_field(specs) == expected
    conv_stack = nn.Sequential(*list(encoder.body.children())[:-1])
    assert _measured_receptive_field(conv_stack, 84) == expected


def test_receptive_field_of_dilated_stack_by_gradient():
    stack = nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2), nn.ReLU(),
                          nn.Conv2d(2, 1, 3, dilation=3))
    assert receptive_field(specs_of(stack)) == 1 + 4 + 2 + 6 * 2
    assert _measured_receptive_field(stack, 48) == 1 + 4 + 2 + 6 * 2
