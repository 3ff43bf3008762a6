"""A scripted Runner player that reads the scene: the game state, or the screen.

The policy is a function of a :class:`Scene`, what the screen shows: the runner's elevation,
the obstacles' boxes and the scroll speed. :func:`scene_of` builds it exactly from a
:class:`~bc_gym.games.runner.game.RunnerGame`; ``bc_gym.games.runner.screen.SceneReader``
builds it from a grabbed frame of the browser page, so the same expert plays both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from bc_gym.games.runner.game import KINDS, RULES, RUNNER_ACTIONS, RunnerGame

# Steps from the jump's start to its apex: JUMP_V / GRAVITY + 1/2 = 8.5 with the defaults (the
# height stays the same over steps 8 and 9).
APEX_STEPS = RULES["JUMP_V"] / RULES["GRAVITY"] + 0.5
DUCK_AHEAD = 4.0  # start ducking this many steps before a low bird reaches the runner


@dataclass
class Box:
    """An obstacle as seen: left edge ``x`` (canvas column), width, lift and height, px."""

    x: float
    w: float
    lift: float
    h: float


@dataclass
class Scene:
    """What the screen shows, in px: all the expert needs.

    Attributes:
        elevation: height of the runner's feet above the ground line.
        speed: scroll speed, px per step.
        obstacles: the obstacles on screen, in any order.
    """

    elevation: float
    speed: float
    obstacles: list[Box] = field(default_factory=list)


def scene_of(game: RunnerGame) -> Scene:
    """The exact scene of a game (obstacles not yet on the canvas are left out)."""
    s = game.state
    boxes = [
        Box(o.x / 100, float(KINDS[o.kind]["w"]), float(KINDS[o.kind]["lift"]),
            float(KINDS[o.kind]["h"]))
        for o in s.obstacles
        if o.x < 100 * RULES["WIDTH"]
    ]  # fmt: skip
    return Scene(s.y / 100, s.speed / 100, boxes)


class ScriptedExpert:
    """Jump to have the apex over a ground obstacle, duck under low birds, stay down under high.

    Jumping into a high bird is the way to lose: a runner on the ground passes under it.

    Args:
        noise: 0 plays cleanly; with ``noise > 0`` a fraction ``noise`` of the steps take a
            uniformly random action. :attr:`intended` keeps what the expert itself chose.
        seed: seeds the noise.
        lead: act this many steps earlier, for a player that sees the screen late (the
            browser autopilot: key and frame latency).

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> env = gym.make("bc_gym/Runner-v0")
        >>> _ = env.reset(seed=0)
        >>> expert = ScriptedExpert()
        >>> env.action_space.contains(expert(env))
        True
    """

    def __init__(self, noise: float = 0.0, seed: int | None = None, lead: float = 0.0) -> None:
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise must be in [0, 1], actual value: {noise!r}")
        if lead < 0:
            raise ValueError(f"lead must be >= 0 steps, actual value: {lead!r}")
        self.noise = float(noise)
        self.lead = float(lead)
        self.rng = np.random.default_rng(seed)
        self.intended = 0
        """The expert's own action at the last call, before any noise (a clean label)."""

    def reset(self) -> None:
        """Nothing to clear (the policy keeps no state); kept for the agents' interface."""

    def __call__(self, env: gym.Env | RunnerGame) -> int:
        """Return the action for the env's (or game's) current state; the env may be wrapped."""
        game = env if isinstance(env, RunnerGame) else env.unwrapped.game
        self.intended = RUNNER_ACTIONS.from_keys(self.keys(scene_of(game)))
        if self.noise > 0 and self.rng.random() < self.noise:
            return int(self.rng.integers(RUNNER_ACTIONS.n))
        return self.intended

    def keys(self, scene: Scene) -> set[str]:
        """Keys to hold in this scene (a pure function of it)."""
        m = RULES["HIT_MARGIN"] / 100
        left, right = RULES["PLAYER_X"] + m, RULES["PLAYER_X"] + RULES["PLAYER_W"] - m
        ahead = sorted((o for o in scene.obstacles if o.x + o.w > left), key=lambda o: o.x)
        if not ahead:
            return set()
        o = ahead[0]
        v = max(scene.speed, 1e-3)
        airborne = scene.elevation > 0
        to_front = (o.x - right) / v  # steps until the boxes start to overlap
        to_middle = (o.x + o.w / 2 - (RULES["PLAYER_X"] + RULES["PLAYER_W"] / 2)) / v
        if o.lift > 0:  # a bird
            if o.lift >= RULES["STAND_H"] - 2 * m:  # a standing runner passes under it
                return {"down"} if airborne else set()
            if airborne or to_front <= DUCK_AHEAD + self.lead:
                return {"down"}  # duck, or fall fast, then duck
            return set()
        if not airborne and to_middle <= APEX_STEPS + self.lead:
            return {"up"}
        return set()
