"""HighwayRacer in a real pygame window, in real time, read from the real keyboard.

The window is titled ``bc-gym HighwayRacer`` and is ``96 * scale`` pixels square (480x480 at the
default ``scale=5``). It shows exactly the numpy frame of :func:`render`, upscaled by ``scale``.
Keys: arrows drive; after GAME OVER, Space or Enter starts the next game (seed + 1); Escape or
closing the window quits.

With ``autopilot`` the :class:`ScriptedExpert` plays, but through the real keyboard: each tick it
sends its key set as real X key events (XTEST, via :class:`bc_gym.screen.keys.KeyController`),
which the game then reads back from the keyboard like a person's keys, one tick later. This is
what ``bc-gym demo`` records.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.errors import DisplayError, require
from bc_gym.games.highway.env import REWARD_SCALE
from bc_gym.games.highway.expert import ScriptedExpert
from bc_gym.games.highway.game import FRAME, GameConfig, HighwayGame
from bc_gym.games.highway.render import LINE, draw_text, render
from bc_gym.imaging import upscale

TITLE = "bc-gym HighwayRacer"


def window_size(scale: int) -> int:
    """Side of the square window in screen pixels."""
    return FRAME * scale


def run_window(
    fps: float = 30.0,
    scale: int = 5,
    seed: int = 0,
    config: GameConfig | None = None,
    max_steps: int | None = None,
    max_episodes: int | None = None,
    log: str | Path | None = None,
    autopilot: ScriptedExpert | None = None,
    restart_delay_s: float = 1.0,
    start_paused: bool = False,
) -> None:
    """Open the window and run games until the user quits.

    Args:
        fps: frames (and game ticks) per second; the loop keeps a fixed clock.
        scale: integer upscale factor of the 96x96 frame.
        seed: seed of the first game; each restart uses the next seed.
        config: game parameters (lanes, traffic); its ``fps`` is replaced by ``fps``.
        max_steps: end a game after this many ticks (shown as GAME OVER), like the env's
            truncation; ``None`` for no limit.
        max_episodes: quit after this many games; ``None`` to run until Escape.
        log: append one JSON line per finished game (seed, steps, score, crash) to this file.
        autopilot: an expert that plays through real key events (needs the ``screen`` extra).
        restart_delay_s: with ``autopilot``, how long GAME OVER stays before it presses Space.
        start_paused: show the first game frozen (with "SPACE" at the bottom) until Space or
            Enter, so that an agent connecting to the window starts it with its own reset.
    """
    if scale < 1 or int(scale) != scale:
        raise ValueError(f"scale must be a positive integer, actual value: {scale!r}")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, actual value: {fps!r}")
    if not os.environ.get("DISPLAY") and not os.environ.get("SDL_VIDEODRIVER"):
        raise DisplayError(
            "No DISPLAY: the game window needs an X server. On a headless machine run it under "
            "Xvfb (apt-get install xvfb; xvfb-run bc-gym game highway) or use the headless env "
            "gym.make('bc_gym/HighwayRacer-v0')."
        )
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    pygame = require("pygame", "window")
    cfg = config or GameConfig()
    cfg.fps = float(fps)
    pygame.display.init()
    try:
        size = window_size(int(scale))
        screen = pygame.display.set_mode((size, size))
        pygame.display.set_caption(TITLE)
        game = HighwayGame(cfg, seed=seed)
        episode, period = 0, 1.0 / fps
        next_tick = time.perf_counter()
        logged = False
        paused = bool(start_paused)
        pilot = _Autopilot(autopilot, pygame, restart_delay_s) if autopilot else None
        while True:
            if pilot is not None:
                if paused:
                    pilot.keys.tap("space")
                pilot.tick(game)
            for ev in pygame.event.get():
                if ev.type == pygame.QUIT or (
                    ev.type == pygame.KEYDOWN and ev.key == pygame.K_ESCAPE
                ):
                    return
                if ev.type == pygame.KEYDOWN and ev.key in (pygame.K_SPACE, pygame.K_RETURN):
                    if paused:
                        paused = False
                        continue
                    if not game.state.crashed:
                        continue
                    episode += 1
                    if max_episodes is not None and episode >= max_episodes:
                        return
                    game.reset(seed + episode)
                    logged = False
            if not game.state.crashed and not paused:
                k = pygame.key.get_pressed()
                game.step(
                    left=k[pygame.K_LEFT], right=k[pygame.K_RIGHT],
                    up=k[pygame.K_UP], down=k[pygame.K_DOWN],
                )  # fmt: skip
                if max_steps is not None and game.state.steps >= max_steps:
                    game.state.crashed, game.state.crash_reason = True, "time up"
            if game.state.crashed and not logged:
                logged = True
                if log is not None:
                    _log_episode(log, episode, seed + episode, game)
            frame = render(game)
            if paused:
                draw_text(frame, "SPACE", 88, 38, LINE)
            frame = upscale(frame, int(scale))
            screen.blit(pygame.surfarray.make_surface(frame.swapaxes(0, 1)), (0, 0))
            pygame.display.flip()
            next_tick += period
            delay = next_tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -period:  # fell more than a frame behind: restart the clock
                next_tick = time.perf_counter()
    finally:
        if pilot is not None:
            pilot.close()
        pygame.display.quit()


class _Autopilot:
    """Send the expert's keys as real X key events to this process's own window."""

    def __init__(self, expert: ScriptedExpert, pygame, restart_delay_s: float) -> None:
        from bc_gym.screen.keys import KeyController
        from bc_gym.screen.windows import WindowInfo

        wid = int(pygame.display.get_wm_info()["window"])
        size = pygame.display.get_surface().get_size()
        me = WindowInfo(wid, TITLE, 0, 0, size[0], size[1])
        self.expert = expert
        self.keys = KeyController([*HIGHWAY_ACTIONS.keys, "space"], window=me, focus="focus")
        self.restart_delay_s = restart_delay_s
        self.crashed_at: float | None = None

    def tick(self, game: HighwayGame) -> None:
        if not game.state.crashed:
            self.crashed_at = None
            self.keys.hold(HIGHWAY_ACTIONS.to_keys(self.expert(game)))
            return
        now = time.monotonic()
        if self.crashed_at is None:
            self.crashed_at = now
            self.keys.hold(())
        elif now - self.crashed_at >= self.restart_delay_s:
            self.keys.tap("space")
            self.crashed_at = now  # tap again later if the restart was missed

    def close(self) -> None:
        self.keys.close()


def _log_episode(path: str | Path, episode: int, seed: int, game: HighwayGame) -> None:
    s = game.state
    rec = {
        "episode": episode,
        "seed": seed,
        "steps": s.steps,
        "return": s.distance / REWARD_SCALE,
        "crash": s.crash_reason if s.crash_reason != "time up" else "",
        "time": time.time(),
    }
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")
