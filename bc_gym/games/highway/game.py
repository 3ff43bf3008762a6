"""HighwayRacer game logic: pure numpy, deterministic for a seed, no rendering, no pygame.

Coordinates are in native pixels (the 96x96 frame the game draws). ``x`` runs across the road
from its left edge; ``y`` runs forward along the road (world distance). The player's car is drawn
at a fixed screen row; traffic scrolls past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FRAME = 96  # native frame is FRAME x FRAME pixels
LANE_W = 16  # lane width, px
CAR_W, CAR_H = 10, 16  # car size, px
PLAYER_SY = 80  # screen row of the player's car centre
MAX_LANES = 5  # FRAME - 2 * (min shoulder) fits 5 lanes of 16 px


@dataclass
class GameConfig:
    """Parameters of a HighwayRacer game.

    Args:
        lanes: number of lanes (2 to 5).
        traffic_density: traffic cars per lane in view, roughly; 0 gives an empty road.
        traffic_speed: scales traffic speeds (1.0: 40-90 px/s; the player tops out at 150).
        fps: simulation rate; one step is ``1 / fps`` seconds of game time.
    """

    lanes: int = 4
    traffic_density: float = 1.0
    traffic_speed: float = 1.0
    fps: float = 30.0
    v_min: float = 30.0  # px/s
    v_max: float = 150.0
    accel: float = 60.0  # px/s^2 while "up" is held
    brake: float = 150.0  # px/s^2 while "down" is held
    drag: float = 15.0  # px/s^2 with neither
    lateral_speed: float = 60.0  # px/s while left or right is held

    def __post_init__(self) -> None:
        if not 2 <= int(self.lanes) <= MAX_LANES:
            raise ValueError(f"lanes must be in [2, {MAX_LANES}], got {self.lanes!r}")
        if self.traffic_density < 0:
            raise ValueError(f"traffic_density must be >= 0, got {self.traffic_density!r}")
        if self.traffic_speed <= 0:
            raise ValueError(f"traffic_speed must be > 0, got {self.traffic_speed!r}")
        if self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps!r}")
        self.lanes = int(self.lanes)

    @property
    def road_w(self) -> int:
        """Road width in px."""
        return self.lanes * LANE_W

    @property
    def road_x0(self) -> int:
        """Screen column of the road's left edge."""
        return (FRAME - self.road_w) // 2


@dataclass
class Car:
    """A traffic car: centre ``x`` (px from the road's left edge), world ``y``, speed ``v``."""

    lane: int
    y: float
    v: float
    desired_v: float
    color: int


@dataclass
class GameState:
    """Everything that changes during a game."""

    x: float
    v: float
    distance: float = 0.0
    steps: int = 0
    crashed: bool = False
    crash_reason: str = ""
    cars: list[Car] = field(default_factory=list)


class HighwayGame:
    """The game's rules. ``step(left, right, up, down)`` advances one tick of ``1 / fps`` s.

    Example:
        >>> g = HighwayGame(GameConfig(), seed=0)
        >>> d = g.step(up=True)
        >>> d > 0 and not g.state.crashed
        True
    """

    def __init__(self, config: GameConfig | None = None, seed: int | None = None) -> None:
        self.config = config or GameConfig()
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Start a new game (player in a middle lane at cruising speed)."""
        self.rng = np.random.default_rng(seed)
        c = self.config
        lane = (c.lanes - 1) // 2
        self.state = GameState(x=self.lane_center(lane), v=0.7 * c.v_max)
        # Pre-fill the road ahead so the first frames are not empty.
        for _ in range(200):
            self._spawn(ahead_min=56.0)

    # Geometry helpers
    @staticmethod
    def lane_center(lane: int) -> float:
        """Centre ``x`` of a lane."""
        return (lane + 0.5) * LANE_W

    def lane_of(self, x: float) -> int:
        """Lane index nearest to ``x`` (clipped to the road)."""
        return int(np.clip(np.floor(x / LANE_W), 0, self.config.lanes - 1))

    def lanes_overlapped(self, x: float) -> set[int]:
        """Lanes the player's car body overlaps at centre ``x``."""
        lo, hi = x - CAR_W / 2, x + CAR_W / 2 - 1e-6
        return {self.lane_of(lo), self.lane_of(hi)}

    # Simulation
    def _target_cars(self) -> int:
        return int(round(self.config.traffic_density * self.config.lanes * 3))

    def _spawn(self, ahead_min: float = 110.0) -> None:
        """Try to add one traffic car ahead of the view, keeping at least two lanes passable."""
        c, s = self.config, self.state
        if len(s.cars) >= self._target_cars():
            return
        y = s.distance + ahead_min + float(self.rng.uniform(0, 120))
        lane = int(self.rng.integers(c.lanes))
        for car in s.cars:  # same lane: keep a car length and a half apart
            if car.lane == lane and abs(car.y - y) < 2.5 * CAR_H:
                return
        band = {car.lane for car in s.cars if abs(car.y - y) < 3 * CAR_H} | {lane}
        if len(band) > c.lanes - 2:
            return
        desired = float(self.rng.uniform(40.0, 90.0)) * c.traffic_speed
        s.cars.append(Car(lane, y, desired, desired, int(self.rng.integers(6))))

    def step(
        self, left: bool = False, right: bool = False, up: bool = False, down: bool = False
    ) -> float:
        """Advance one tick with the given keys held; returns the distance gained (px).

        After a crash the game is frozen: ``step`` returns 0 until :meth:`reset`.
        """
        c, s = self.config, self.state
        if s.crashed:
            return 0.0
        dt = 1.0 / c.fps
        s.x += (float(right) - float(left)) * c.lateral_speed * dt
        if up and not down:
            acc = c.accel
        elif down and not up:
            acc = -c.brake
        else:
            acc = -c.drag
        s.v = float(np.clip(s.v + acc * dt, c.v_min, c.v_max))
        gained = s.v * dt
        s.distance += gained
        s.steps += 1
        self._move_traffic(dt)
        s.cars = [car for car in s.cars if -48 < car.y - s.distance < 320]
        self._spawn()
        self._check_crash()
        return gained

    def _move_traffic(self, dt: float) -> None:
        s = self.state
        player_lanes = self.lanes_overlapped(s.x)
        by_lane: dict[int, list[Car]] = {}
        for car in s.cars:
            by_lane.setdefault(car.lane, []).append(car)
        for lane, cars in by_lane.items():
            cars.sort(key=lambda car: car.y)
            for i, car in enumerate(cars):
                # Follow the car ahead (or the player) instead of driving through it.
                v = car.desired_v
                if i + 1 < len(cars) and cars[i + 1].y - car.y < 2.2 * CAR_H:
                    v = min(v, cars[i + 1].v)
                if lane in player_lanes and 0 < s.distance - car.y < 2.5 * CAR_H:
                    v = min(v, s.v)
                car.v = v
                car.y += v * dt

    def _check_crash(self) -> None:
        c, s = self.config, self.state
        if not 0.0 <= s.x <= c.road_w:
            s.crashed, s.crash_reason = True, "off road"
            return
        for car in s.cars:
            if (
                abs(self.lane_center(car.lane) - s.x) < CAR_W - 1
                and abs(car.y - s.distance) < CAR_H - 1
            ):
                s.crashed, s.crash_reason = True, "collision"
                return
