"""Image augmentations for the pixel agents (training only).

:func:`random_shift` is the random shift of RAD and DrQ (Laskin et al. 2020; Kostrikov et al.
2020): pad the frame by ``pad`` pixels, repeating its border, and crop it back to its size at a
random offset. Labels are unchanged: a car a few pixels further left is the same situation.

Example:
    >>> import torch
    >>> from bc_gym.agents.augment import random_shift
    >>> x = torch.arange(2 * 2 * 4 * 4, dtype=torch.uint8).reshape(2, 2, 4, 4)
    >>> y = random_shift(x, pad=1, generator=torch.Generator().manual_seed(0))
    >>> y.shape == x.shape, y.dtype
    (True, torch.uint8)
    >>> torch.equal(random_shift(x, pad=0), x)
    True
"""

from __future__ import annotations

import torch


def random_shift(
    x: torch.Tensor, pad: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shift each sample of a batch by a random whole number of pixels, replicating the border.

    Equivalent to replicate-padding by ``pad`` and cropping ``(H, W)`` back at a random offset
    in ``[0, 2*pad]`` per axis. One offset per sample, shared by all its channels, so the frames
    of a stack (stacked on the channel axis) stay aligned. Exact for uint8 (no interpolation).

    Args:
        x: ``(B, C, H, W)`` images, any dtype (uint8 or float), on any device.
        pad: largest shift in pixels (0: ``x`` is returned unchanged).
        generator: torch generator of the offsets (default: torch's global one); offsets are
            drawn on its device, then moved to ``x``'s.

    Returns:
        A new ``(B, C, H, W)`` tensor of ``x``'s dtype (``x`` itself when ``pad == 0``).

    Raises:
        ValueError: ``x`` is not 4-D or ``pad`` is negative.
    """
    if x.ndim != 4:
        raise ValueError(
            f"x must be a (B, C, H, W) batch, actual shape: {tuple(x.shape)}; add a batch "
            "axis with x[None] for one image"
        )
    if int(pad) != pad or pad < 0:
        raise ValueError(f"pad must be an integer >= 0 (pixels), actual value: {pad!r}")
    if pad == 0 or x.shape[0] == 0:
        return x
    b, c, h, w = x.shape
    # Integer offsets gathered with clamped indices: replicate padding without building the
    # padded tensor, valid for uint8 (F.pad's replicate mode and grid_sample need floats).
    # Hand-written rather than kornia's RandomCrop: ten lines do not justify a dependency.
    dev = generator.device if generator is not None else torch.device("cpu")
    shift = torch.randint(0, 2 * pad + 1, (2, b), generator=generator, device=dev).to(x.device)
    rows = (torch.arange(h, device=x.device) + shift[0, :, None] - pad).clamp_(0, h - 1)  # (B, H)
    cols = (torch.arange(w, device=x.device) + shift[1, :, None] - pad).clamp_(0, w - 1)  # (B, W)
    out = x.gather(2, rows[:, None, :, None].expand(b, c, h, w))  # rows shifted
    return out.gather(3, cols[:, None, None, :].expand(b, c, h, w))  # then columns
