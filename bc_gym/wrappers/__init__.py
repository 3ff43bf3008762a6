"""Gymnasium wrappers for real-time play: time-spaced frame stacks, action history."""

from bc_gym.wrappers.action_history import ActionHistory
from bc_gym.wrappers.timed_frame_stack import TimedFrameStack

__all__ = ["ActionHistory", "TimedFrameStack"]
