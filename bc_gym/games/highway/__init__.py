"""HighwayRacer: the built-in top-down highway driving game.

* :class:`HighwayGame` - the rules, pure numpy.
* :func:`render` - the 96x96 RGB frame.
* :class:`HighwayRacerEnv` - the Gymnasium env ``bc_gym/HighwayRacer-v0``.
* :class:`ScriptedExpert` - a driver that reads the game state.
* ``bc_gym.games.highway.window`` - the real pygame window (``bc-gym game highway``).
"""

from bc_gym.games.highway.env import HighwayRacerEnv
from bc_gym.games.highway.expert import ScriptedExpert
from bc_gym.games.highway.game import FRAME, GameConfig, HighwayGame
from bc_gym.games.highway.render import render

__all__ = ["FRAME", "GameConfig", "HighwayGame", "HighwayRacerEnv", "ScriptedExpert", "render"]
