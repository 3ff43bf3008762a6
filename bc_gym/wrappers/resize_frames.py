"""``ResizeFrames``: resize every frame of the observation with ``bc_gym.imaging.resize``.

An agent trained on recorded frames resized on load (``bc_gym.datasets.views.ResizedDataset``)
must see live frames resized by the same function with the same interpolation; a capture that
shrinks the grab itself (``ScreenCapture(size=...)``: halving, then one area resize) gives
slightly different pixels. So ``play`` captures a window at the recorded size and wraps the env
in this wrapper, after :class:`~bc_gym.wrappers.TimedFrameStack` (which reads older frames from
the capture's ring buffer, at the captured size).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from bc_gym.imaging import resize


class ResizeFrames(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Resize the frame, or each frame of a stack, to ``size`` ``(height, width)``.

    The observation is ``(H, W, C)`` or a stack ``(..., H, W, C)`` of uint8 frames; the leading
    axes and the channels are kept.

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> from bc_gym.wrappers import ResizeFrames, TimedFrameStack
        >>> env = gym.make("bc_gym/HighwayRacer-v0", obs_size=(96, 96))
        >>> env = ResizeFrames(TimedFrameStack(env, 4, 0.1), (48, 64))
        >>> env.observation_space.shape
        (4, 48, 64, 3)
        >>> env.reset(seed=0)[0].shape
        (4, 48, 64, 3)

    Args:
        env: the env to wrap; a ``Box`` observation space of uint8 frames ``(..., H, W, C)``.
        size: ``(height, width)`` of the frames it returns.
    """

    def __init__(self, env: gym.Env, size: tuple[int, int]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, size=size)
        gym.ObservationWrapper.__init__(self, env)

        box = env.observation_space
        if not isinstance(box, spaces.Box) or len(box.shape) < 3 or box.dtype != np.uint8:
            raise TypeError(
                f"ResizeFrames expects a uint8 Box of frames (..., H, W, C), actual value: {box}"
            )
        if len(size) != 2 or min(int(s) for s in size) <= 0:
            raise ValueError(f"size must be (height, width) > 0, actual value: {size!r}")
        self.size = (int(size[0]), int(size[1]))
        shape = (*box.shape[:-3], *self.size, box.shape[-1])
        self.observation_space = spaces.Box(0, 255, shape, dtype=np.uint8)

    def observation(self, observation: Any) -> np.ndarray:
        """The observation with each ``(H, W, C)`` frame resized to ``size``."""
        obs = np.asarray(observation)
        frames = obs.reshape(-1, *obs.shape[-3:])
        out = np.empty((len(frames), *self.observation_space.shape[-3:]), np.uint8)
        for i, frame in enumerate(frames):
            out[i] = resize(frame, self.size)
        return out.reshape(*obs.shape[:-3], *out.shape[1:])
