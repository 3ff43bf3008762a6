"""bc-gym: teach an agent to play a real-time game by watching a person play it on screen."""

from importlib.metadata import PackageNotFoundError, version

from gymnasium.envs.registration import register

try:
    __version__ = version("bc-gym")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

register(
    id="bc_gym/HighwayRacer-v0",
    entry_point="bc_gym.games.highway.env:HighwayRacerEnv",
)
register(
    id="bc_gym/Runner-v0",
    entry_point="bc_gym.games.runner.env:RunnerEnv",
)
register(
    id="bc_gym/Screen-v0",
    entry_point="bc_gym.envs.screen_env:ScreenEnv",
    nondeterministic=True,  # a live screen: same seed, different frames
)

__all__ = ["__version__"]
