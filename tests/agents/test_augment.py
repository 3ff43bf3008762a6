import doctest
import re

import pytest
import torch

import bc_gym.agents.augment as augment_module
from bc_gym.agents.augment import random_shift

pytestmark = pytest.mark.train

SEED = 42


def test_doctest():
    assert doctest.testmod(augment_module).failed == 0


def _stacks(b: int = 16, n: int = 4, c: int = 3, hw: int = 12) -> torch.Tensor:
    """Stacks whose frames differ (frame k = frame 0 + 10k) and whose pixels are all distinct."""
    base = torch.randint(0, 200, (b, 1, c, hw, hw), generator=torch.Generator().manual_seed(SEED))
    frames = base + 10 * torch.arange(n)[None, :, None, None, None] * (base < 150)
    return frames.reshape(b, n * c, hw, hw).to(torch.uint8)  # (B, n*C, H, W)


def _shift_of(x: torch.Tensor, y: torch.Tensor, pad: int) -> tuple[int, int]:
    """The (dy, dx) whose replicate-padded crop of ``x`` gives ``y`` (asserts there is one)."""
    h, w = x.shape[-2:]
    padded = torch.nn.functional.pad(x[None].float(), (pad,) * 4, mode="replicate")[0]
    hits = [
        (dy, dx)
        for dy in range(2 * pad + 1)
        for dx in range(2 * pad + 1)
        if torch.equal(padded[:, dy : dy + h, dx : dx + w], y.float())
    ]
    assert hits, "the output is not a shifted crop of the input"
    return hits[0]


def test_pad_zero_is_the_identity():
    x = _stacks()
    assert random_shift(x, 0) is x


def test_each_stack_is_one_shift_of_all_its_frames():
    x = _stacks(n=4, c=3)
    y = random_shift(x, 2, torch.Generator().manual_seed(SEED))
    assert y.shape == x.shape and y.dtype == torch.uint8
    assert not torch.equal(y, x)
    shifts = set()
    for xi, yi in zip(x, y, strict=True):
        # One offset explains every channel of every frame of the stack together...
        shift = _shift_of(xi, yi, 2)
        shifts.add(shift)
        # ...and each frame on its own is shifted by that same offset.
        for k in range(4):
            assert _shift_of(xi[3 * k : 3 * k + 3], yi[3 * k : 3 * k + 3], 2) == shift
    assert len(shifts) > 3  # the samples are shifted independently
    assert all(0 <= dy <= 4 and 0 <= dx <= 4 for dy, dx in shifts)


def test_labels_stay_with_their_stack():
    # A batch where each sample's label is written in its pixels: after the shift, sample i
    # still carries label i (the batch order is unchanged, only pixels move).
    labels = torch.arange(8)
    x = labels[:, None, None, None].expand(8, 6, 10, 10).to(torch.uint8).clone()
    x[:, :, 4:6, 4:6] = 255  # a 2-pixel car that moves with the shift
    y = random_shift(x, 3, torch.Generator().manual_seed(SEED))
    assert torch.equal(y.amin(dim=(1, 2, 3)), labels.to(torch.uint8))
    assert (y == 255).reshape(8, -1).sum(1).eq(6 * 4).all()  # the car is shifted, never cut


def test_float_input_and_the_global_generator():
    x = torch.rand(4, 2, 8, 8)
    torch.manual_seed(SEED)
    a = random_shift(x, 1)
    torch.manual_seed(SEED)
    b = random_shift(x, 1)
    assert a.dtype == torch.float32 and torch.equal(a, b)


def test_errors():
    with pytest.raises(ValueError, match=re.escape("x must be a (B, C, H, W) batch")):
        random_shift(torch.zeros(3, 8, 8), 2)
    with pytest.raises(ValueError, match=re.escape("pad must be an integer >= 0")):
        random_shift(torch.zeros(1, 3, 8, 8), -1)
