"""``ActionHistory``: add the last ``n`` actions to the observation.

In real time the action an agent chose last is still being held while the next frame is
captured, so the frame alone does not say what the agent is doing; rtgym puts this "action
buffer" in the observation for the same reason (design.md, section 5).
"""

from __future__ import annotations

from collections import deque
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space


class ActionHistory(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Observation becomes ``{"obs": obs, "actions": last n actions, oldest first}``.

    The newest entry is the action passed to the ``step`` that produced the observation (the
    keys held while it was captured). After ``reset`` the history is filled with
    ``padding_action`` (default: action 0, "noop" in bc-gym's action maps, or zeros).

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> from bc_gym.wrappers import ActionHistory
        >>> env = ActionHistory(gym.make("bc_gym/HighwayRacer-v0"), 3)
        >>> env.observation_space["actions"]
        MultiDiscrete([9 9 9])
        >>> obs, _ = env.reset(seed=0)
        >>> obs, *_ = env.step(3)
        >>> obs["actions"].tolist()
        [0, 0, 3]

    Args:
        env: the env to wrap; its action space must be ``Discrete``, ``MultiDiscrete``,
            ``MultiBinary`` or ``Box``.
        n: number of past actions kept (>= 1).
        padding_action: the action that fills the history after ``reset``.
        obs_key: key of the wrapped observation in the ``Dict`` observation.
        actions_key: key of the action history in the ``Dict`` observation.
    """

    def __init__(
        self,
        env: gym.Env,
        n: int,
        *,
        padding_action: Any = None,
        obs_key: str = "obs",
        actions_key: str = "actions",
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, n=n, padding_action=padding_action, obs_key=obs_key, actions_key=actions_key
        )
        gym.Wrapper.__init__(self, env)

        if isinstance(n, bool) or not np.issubdtype(type(n), np.integer):
            raise TypeError(f"n is expected to be an integer, actual type: {type(n)}")
        if n < 1:
            raise ValueError(f"n needs to be at least 1, actual value: {n}")
        act_space = env.action_space
        if not isinstance(
            act_space, (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary, spaces.Box)
        ):
            raise TypeError(
                "ActionHistory expects a Discrete, MultiDiscrete, MultiBinary or Box action "
                f"space, actual value: {act_space}"
            )
        if obs_key == actions_key:
            raise ValueError(f"obs_key and actions_key must differ, actual value: {obs_key!r}")
        if padding_action is None:
            if isinstance(act_space, spaces.Discrete):
                padding_action = int(act_space.start)
            else:
                padding_action = np.zeros(act_space.shape, dtype=act_space.dtype)
        if not act_space.contains(_as_action(act_space, padding_action)):
            raise ValueError(
                f"padding_action must be an action of {act_space}, actual value: {padding_action!r}"
            )

        self.n = int(n)
        self.obs_key, self.actions_key = obs_key, actions_key
        self.padding_action = _as_action(act_space, padding_action)
        self.observation_space = spaces.Dict(
            {obs_key: env.observation_space, actions_key: batch_space(act_space, self.n)}
        )
        self._history: deque = deque(maxlen=self.n)

    def _observation(self, obs: Any) -> dict[str, Any]:
        dtype = self.observation_space[self.actions_key].dtype
        actions = np.array(list(self._history), dtype=dtype)
        return {self.obs_key: obs, self.actions_key: actions}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Reset the env and fill the history with ``padding_action``."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._history.clear()
        self._history.extend([self.padding_action] * self.n)
        return self._observation(obs), info

    def step(self, action: Any) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and append ``action`` to the history."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._history.append(_as_action(self.env.action_space, action))
        return self._observation(obs), reward, terminated, truncated, info


def _as_action(space: spaces.Space, action: Any) -> Any:
    if isinstance(space, spaces.Discrete):
        return np.int64(action)
    return np.asarray(action, dtype=space.dtype)
