"""The engine's dropout: torch's distribution and scaling, with the mask drawn by torch.rand on a CPU."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_lib.fast.dropout import dropout, fast_dropout
from tolerance import FP32


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keeps_one_minus_p_and_scales_the_kept(p):
    torch.manual_seed(0)
    x = torch.full((200_000,), 3.0)
    y = dropout(x, p)
    kept = y != 0
    # 200,000 draws: the kept fraction's standard deviation is under 0.0012
    assert abs(kept.float().mean().item() - (1 - p)) < 0.006
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 3.0 / (1 - p)), **FP32)


def test_the_mean_is_kept_as_torch_dropout_keeps_it():
    torch.manual_seed(0)
    x = torch.randn(100_000).abs() + 1.0
    ours, theirs = dropout(x, 0.3).mean().item(), F.dropout(x, 0.3, training=True).mean().item()
    assert abs(ours - x.mean().item()) < 0.02 and abs(theirs - x.mean().item()) < 0.02


def test_evaluation_mode_and_p_zero_return_the_input_itself():
    x = torch.randn(4, 5)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x


def test_p_one_zeroes_everything_as_torch_does():
    x = torch.randn(4, 5, requires_grad=True)
    y = dropout(x, 1.0)
    assert torch.equal(y, torch.zeros(4, 5))
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros(4, 5))


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(0)
    x = torch.randn(50, 40, requires_grad=True)
    y = dropout(x, 0.25)
    y.sum().backward()
    expected = (y.detach() != 0).float() / 0.75
    torch.testing.assert_close(x.grad, expected, **FP32)


def test_same_seed_same_mask_other_seed_other_mask():
    x = torch.ones(1000)
    masks = []
    for seed in (7, 7, 8):
        torch.manual_seed(seed)
        masks.append(dropout(x, 0.5) != 0)
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])


def test_bf16_input_stays_bf16():
    x = torch.ones(100, dtype=torch.bfloat16)
    y = dropout(x, 0.5)
    assert y.dtype == torch.bfloat16 and set(y.unique().tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", None, True])
def test_refuses_a_probability_outside_zero_one(p):
    with pytest.raises(ValueError, match=r"dropout probability must be a number in \[0, 1\]"):
        dropout(torch.ones(3), p)


def test_fast_dropout_leaves_in_place_dropout_to_torch():
    module = nn.Dropout(0.5, inplace=True).train()
    x = torch.ones(1000)
    with fast_dropout(module):
        assert "forward" not in vars(module)  # not swapped
        module(x)
    assert set(x.unique().tolist()) <= {0.0, 2.0}  # torch's in-place dropout changed x itself
