"""Gymnasium wrappers for real-time play: time-spaced frame stacks, action history, resizing."""

from bc_gym.wrappers.action_history import ActionHistory
from bc_gym.wrappers.resize_frames import ResizeFrames
from bc_gym.wrappers.timed_frame_stack import TimedFrameStack

__all__ = ["ActionHistory", "ResizeFrames", "TimedFrameStack"]
