"""Sequence encoders: stepping with carried state equals encoding the whole history at once."""

import math

import pytest
import torch
import torch.nn.functional as F

from perception.encoders import NatureCNN
from perception.sequence import (
    MultiHeadSelfAttention,
    RecurrentEncoder,
    SinusoidalPositionalEncoding,
    TransformerEncoder,
)

ENCODERS = {
    "gru": lambda: RecurrentEncoder(6, 12, cell="gru"),
    "lstm-2-layers": lambda: RecurrentEncoder(6, 12, cell="lstm", num_layers=2),
    "transformer": lambda: TransformerEncoder(6, d_model=16, num_heads=4, num_layers=2, ff_dim=32),
}


@pytest.mark.parametrize("name", ENCODERS)
def test_step_by_step_equals_whole_sequence(name):
    torch.manual_seed(0)
    encoder = ENCODERS[name]().eval()
    x = torch.randn(3, 9, 6)  # [B, T, D]
    whole, _ = encoder(x)
    assert whole.shape == (3, 9, encoder.features_dim)
    state, outs = None, []
    for t in range(x.shape[1]):
        out_t, state = encoder.step(x[:, t], state)
        outs.append(out_t)
    torch.testing.assert_close(torch.stack(outs, dim=1), whole, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ENCODERS)
def test_chunks_with_carried_state_equal_whole_sequence(name):
    torch.manual_seed(1)
    encoder = ENCODERS[name]().eval()
    x = torch.randn(2, 10, 6)
    whole, _ = encoder(x)
    first, state = encoder(x[:, :4])
    second, _ = encoder(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, atol=1e-5, rtol=1e-5)


def test_causal_transformer_ignores_the_future_and_bidirectional_does_not():
    torch.manual_seed(2)
    x = torch.randn(1, 6, 6)
    changed = x.clone()
    changed[:, 4:] += 1.0  # alter only steps 4 and 5
    causal = TransformerEncoder(6, d_model=16, num_heads=2, num_layers=1, ff_dim=16, causal=True).eval()
    torch.testing.assert_close(causal(x)[0][:, :4], causal(changed)[0][:, :4])
    assert not torch.allclose(causal(x)[0][:, 4:], causal(changed)[0][:, 4:])
    both_ways = TransformerEncoder(6, d_model=16, num_heads=2, num_layers=1, ff_dim=16, causal=False).eval()
    assert not torch.allclose(both_ways(x)[0][:, :4], both_ways(changed)[0][:, :4])
    with pytest.raises(ValueError):
        both_ways.step(x[:, 0], both_ways(x[:, :1])[1])


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_torch_scaled_dot_product(causal):
    torch.manual_seed(3)
    attention = MultiHeadSelfAttention(d_model=8, num_heads=2)
    x = torch.randn(2, 5, 8)
    out, (k, v) = attention(x, causal=causal)
    q = attention.qkv(x)[..., :8].view(2, 5, 2, 4).transpose(1, 2)  # [B, heads, T, d_head]
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # [B, heads, T, d_head]
    torch.testing.assert_close(out, attention.out(expected.transpose(1, 2).reshape(2, 5, 8)))


def test_sinusoidal_positions_by_hand():
    table = SinusoidalPositionalEncoding(d_model=4, max_len=8).table
    torch.testing.assert_close(table[0], torch.tensor([0.0, 1.0, 0.0, 1.0]))
    # position 3; frequencies 1 and 1 / 10000^(2/4) = 1/100
    expected = torch.tensor([math.sin(3), math.cos(3), math.sin(3 / 100), math.cos(3 / 100)])
    torch.testing.assert_close(table[3], expected)
    with pytest.raises(ValueError):
        SinusoidalPositionalEncoding(d_model=4, max_len=8)(torch.zeros(1, 3, 4), start=6)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_frame_encoder_embeds_observation_histories(cell):
    cnn = NatureCNN(in_channels=1, input_hw=(36, 36), features_dim=16)
    encoder = RecurrentEncoder(cnn.features_dim, 8, cell=cell, frame_encoder=cnn)
    frames = torch.rand(2, 3, 1, 36, 36)  # [B, T, C, H, W]
    out, _ = encoder(frames)
    assert out.shape == (2, 3, 8)
    step_out, _ = encoder.step(frames[:, 0])
    torch.testing.assert_close(step_out, out[:, 0], atol=1e-6, rtol=1e-5)
    transformer = TransformerEncoder(cnn.features_dim, d_model=8, num_heads=2, num_layers=1, ff_dim=8,
                                     frame_encoder=cnn)
    assert transformer(frames)[0].shape == (2, 3, 8)


def test_unknown_cell_is_rejected():
    with pytest.raises(ValueError, match="gru"):
        RecurrentEncoder(4, 4, cell="rnn")
