"""Runner: the built-in side-scroller, in a browser page and headless, with the same rules.

* :class:`RunnerGame` - the rules, integer arithmetic, deterministic per seed.
* :func:`render` - the 150x600 RGB frame (the page's canvas, pixel for pixel).
* :class:`RunnerEnv` - the Gymnasium env ``bc_gym/Runner-v0``.
* :class:`ScriptedExpert` - a player that reads the scene (game state or screen).
* ``bc_gym.games.runner.browser`` - the page in a Chromium app window (``bc-gym game runner``).
* ``bc_gym.games.runner.screen`` - the scene read from the page's pixels (the autopilot).
"""

from bc_gym.games.runner.env import RunnerEnv
from bc_gym.games.runner.expert import Scene, ScriptedExpert, scene_of
from bc_gym.games.runner.game import KINDS, RULES, RUNNER_ACTIONS, RunnerGame
from bc_gym.games.runner.render import render

__all__ = [
    "KINDS",
    "RULES",
    "RUNNER_ACTIONS",
    "RunnerEnv",
    "RunnerGame",
    "Scene",
    "ScriptedExpert",
    "render",
    "scene_of",
]
