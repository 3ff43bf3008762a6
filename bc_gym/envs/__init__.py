"""Live game windows as Gymnasium envs: ``ScreenEnv`` (``bc_gym/Screen-v0``) and its clock."""

from bc_gym.envs.clock import ElasticClock, LateStepWarning
from bc_gym.envs.detectors import (
    AnyOf,
    FrozenScreenDetector,
    GameOverDetector,
    Reward,
    SurvivalReward,
    TemplateDetector,
)
from bc_gym.envs.screen_env import ScreenEnv

__all__ = [
    "AnyOf",
    "ElasticClock",
    "FrozenScreenDetector",
    "GameOverDetector",
    "LateStepWarning",
    "Reward",
    "ScreenEnv",
    "SurvivalReward",
    "TemplateDetector",
]
