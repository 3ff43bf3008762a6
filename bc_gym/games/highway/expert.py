"""A scripted HighwayRacer driver that reads the game state (not pixels)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.games.highway.game import CAR_H, LANE_W, PLAYER_SY, HighwayGame

VISIBLE_AHEAD = PLAYER_SY + CAR_H / 2  # a car further ahead than this (centre) is off screen


LANE_COST = 32.0  # px of extra room a lane change must gain, from the centre of a lane


class ScriptedExpert:
    """Drive well: keep speed, change lane ahead of slower traffic, brake when boxed in.

    The policy (:meth:`keys`) is a function of the current state only, and only of what the
    screen shows: it keeps no lane plan between steps (a lane change goes on because, once the
    car has left the centre of its lane, the new lane is the nearer one), so a policy cloned
    from the frames is not asked to guess a hidden plan.

    Args:
        noise: 0 drives cleanly. With ``noise > 0`` a fraction ``noise`` of the steps take a
            random action, and about once every ``1 / (0.03 * noise)`` steps the car drifts
            sideways for 3-7 steps before the expert recovers (recovery demonstrations).
            :attr:`intended` keeps what the expert itself would have pressed.
        seed: seeds the noise.
        screen_only: look only at the cars drawn on screen (default), so that every decision
            can be learned from the frames; ``False`` also sees the traffic ahead of the view.

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> env = gym.make("bc_gym/HighwayRacer-v0")
        >>> _ = env.reset(seed=0)
        >>> expert = ScriptedExpert()
        >>> env.action_space.contains(expert(env))
        True
    """

    def __init__(
        self, noise: float = 0.0, seed: int | None = None, screen_only: bool = True
    ) -> None:
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise must be in [0, 1], actual value: {noise!r}")
        self.noise = float(noise)
        self.screen_only = bool(screen_only)
        self.rng = np.random.default_rng(seed)
        self._drift_left = 0
        self._drift_key = "left"
        self.intended = HIGHWAY_ACTIONS.from_keys(())
        """The expert's own action at the last call, before any noise (a clean label)."""

    def reset(self) -> None:
        """End any drift in progress (call at episode start; done automatically on a new game)."""
        self._drift_left = 0

    def __call__(self, env: gym.Env | HighwayGame) -> int:
        """Return the action to take in the env's current state (the env may be wrapped).

        With noise this may be a random or drifting action; :attr:`intended` is then the
        expert's own choice for the same state.
        """
        game = env if isinstance(env, HighwayGame) else env.unwrapped.game
        if game.state.steps == 0:
            self.reset()
        self.intended = HIGHWAY_ACTIONS.from_keys(self.keys(game))
        if self.noise > 0:
            if self._drift_left > 0:
                self._drift_left -= 1
                return HIGHWAY_ACTIONS.index(f"up+{self._drift_key}")
            if self.rng.random() < 0.03 * self.noise:
                self._start_drift(game)
            if self.rng.random() < self.noise:
                return int(self.rng.integers(HIGHWAY_ACTIONS.n))
        return self.intended

    def _start_drift(self, game: HighwayGame) -> None:
        """Drift towards a free neighbouring lane for a few steps (never off the road)."""
        s, c = game.state, game.config
        lane = game.lane_of(s.x)
        free = []
        for side, nb in (("left", lane - 1), ("right", lane + 1)):
            if 0 <= nb < c.lanes and not any(
                car.lane == nb and abs(car.y - s.distance) < 3 * CAR_H for car in s.cars
            ):
                free.append(side)
        if free:
            self._drift_key = free[int(self.rng.integers(len(free)))]
            self._drift_left = int(self.rng.integers(3, 8))

    # The policy proper.
    def keys(self, game: HighwayGame) -> set[str]:
        """Keys the expert holds in this state (a pure function of the state)."""
        s, c = game.state, game.config
        lane_now = game.lane_of(s.x)
        gap = [np.inf] * c.lanes  # free road ahead in each lane, px (bumper to bumper)
        lead_v = [np.inf] * c.lanes
        beside = [False] * c.lanes  # a car alongside: cannot move into that lane now
        for car in s.cars:
            dy = car.y - s.distance
            if self.screen_only and dy > VISIBLE_AHEAD:
                continue  # not on screen yet: a player (or a policy on pixels) cannot see it
            if -CAR_H - 6 < dy < CAR_H + 6:
                beside[car.lane] = True
            if dy > -CAR_H + 2:
                g = dy - CAR_H
                if g < gap[car.lane]:
                    gap[car.lane], lead_v[car.lane] = g, car.v
        overlapped = game.lanes_overlapped(s.x)

        def reachable(lane: int) -> bool:
            if lane in overlapped:
                return True
            step = 1 if lane > lane_now else -1
            return all(not beside[i] for i in range(lane_now + step, lane + step, step))

        def value(lane: int) -> float:
            # Room ahead, less a cost for the distance to the lane's centre: from the centre of
            # a lane a change must gain LANE_COST px of room; half-way, the new lane is cheaper
            # and the change goes on (hysteresis without memory).
            return min(gap[lane], 400.0) - LANE_COST * abs(game.lane_center(lane) - s.x) / LANE_W

        options = [ln for ln in (lane_now - 1, lane_now, lane_now + 1) if 0 <= ln < c.lanes]
        target = max((ln for ln in options if reachable(ln)), key=value)
        keys: set[str] = set()
        dx = game.lane_center(target) - s.x
        if dx < -1.0:
            keys.add("left")
        elif dx > 1.0:
            keys.add("right")
        # Speed: the road ahead in every lane the car body touches or will cross.
        lo, hi = sorted((lane_now, target))
        touched = overlapped | set(range(lo, hi + 1))
        ahead = min(gap[ln] for ln in touched)
        closing = max(s.v - min(lead_v[ln] for ln in touched), 0.0)
        safe = 6.0 + closing * 0.3 + closing**2 / (2 * c.brake)
        if ahead < safe:
            keys.add("down")
        elif ahead > safe + 10.0 or closing <= 0:
            keys.add("up")
        return keys
