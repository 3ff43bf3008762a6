"""The window and game-over options of ``record``, ``play`` and ``bench``, defined once.

Each option is an ``Annotated`` type, so the flag, its help and its meaning are the same
everywhere. :func:`with_window_options` gives a command all of them at once, in place of its
``window_args`` parameter::

    @with_window_options()
    def play(run: Path, window_args: dict[str, Any] | None = None, episodes: int = 3):
        window = WindowOptions.parse(**(window_args or {}))

:meth:`WindowOptions.parse` checks every value and raises :class:`WindowOptionError` (a
``ConfigError``: ``bc-gym`` prints it as one line and exits with status 2);
:meth:`WindowOptions.detector` builds the game-over detector and
:meth:`WindowOptions.env_kwargs` the ``ScreenEnv`` arguments.

Example:
    >>> w = WindowOptions.parse(region="0,0,600,150", game_over_still=1.5)
    >>> w.region, w.detector()
    ((0, 0, 600, 150), FrozenScreenDetector(seconds=1.5, tol=0))
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bc_gym.errors import ConfigError

DEFAULT_GAME_OVER_TOL = 20.0
"""Largest mean pixel difference (0-255) to the game-over image that still matches."""
DEFAULT_STILL_TOL = 0.0
"""Largest mean difference (0-255) of 32x32 grayscale thumbnails that counts as "no change".

0: a frozen screen is captured bit-identical, while a running game may change very little (the
Runner page with no obstacle on screen: only its score digits, under 1 level on average, which
a tolerance of 1 took for a game over). Raise it for a blinking "press a key"."""

Title = Annotated[
    str | None,
    typer.Option(
        "--title",
        help="The game window: the first visible window whose title contains TEXT "
        "(any case; followed when it moves).",
        show_default=False,
    ),
]
Region = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="Or a fixed screen region X,Y,W,H (`bc-gym find-region` prints it).",
        show_default=False,
    ),
]
GameOverImage = Annotated[
    Path | None,
    typer.Option(
        "--game-over-image",
        help="A screenshot of the game-over screen (`bc-gym find-region --save-game-over "
        "PNG`): an episode ends on the frame that matches it.",
        show_default=False,
    ),
]
GameOverBox = Annotated[
    str | None,
    typer.Option(
        "--game-over-box",
        help="Compare only this part of the frame with --game-over-image: top,left,bottom,"
        "right fractions, e.g. 0.35,0,0.65,1 (default: the whole frame).",
        show_default=False,
    ),
]
GameOverTol = Annotated[
    float | None,
    typer.Option(
        "--game-over-tol",
        help="Largest mean pixel difference (0-255) that still matches the game-over image "
        f"(default: {DEFAULT_GAME_OVER_TOL:g}).",
        show_default=False,
    ),
]
GameOverStill = Annotated[
    float | None,
    typer.Option(
        "--game-over-still",
        metavar="SECONDS",
        help="An episode ends when the screen stays (nearly) unchanged this long: for a game "
        "that freezes when it ends and restarts by itself. Keep it shorter than that freeze.",
        show_default=False,
    ),
]
GameOverStillTol = Annotated[
    float | None,
    typer.Option(
        "--game-over-still-tol",
        help="Largest change that still counts as unchanged for --game-over-still: mean "
        f"difference (0-255) of 32x32 grayscale thumbnails (default: {DEFAULT_STILL_TOL:g}).",
        show_default=False,
    ),
]
ResetKeys = Annotated[
    str | None,
    typer.Option(
        "--reset-keys",
        help="Keys tapped to start the next game after a game over, e.g. space or enter "
        "(comma-separated, pyautogui names). Default: none, the game restarts by itself "
        "(the built-in HighwayRacer window: space).",
        show_default=False,
    ),
]

_OPTIONS: dict[str, Any] = {
    "title": Title,
    "region": Region,
    "game_over_image": GameOverImage,
    "game_over_box": GameOverBox,
    "game_over_tol": GameOverTol,
    "game_over_still": GameOverStill,
    "game_over_still_tol": GameOverStillTol,
    "reset_keys": ResetKeys,
}
_Command = TypeVar("_Command", bound=Callable[..., Any])


def with_window_options(*, reset_keys: bool = True) -> Callable[[_Command], _Command]:
    """Give a typer command the window and game-over options in place of ``window_args``.

    The signature typer reads lists ``--title``, ``--region``, ``--game-over-image``,
    ``--game-over-box``, ``--game-over-tol``, ``--game-over-still``, ``--game-over-still-tol``
    and (with ``reset_keys``) ``--reset-keys`` where the command has its ``window_args``
    parameter; the command receives their values as typed (``None``: not given) in
    ``window_args``, the keyword arguments of :meth:`WindowOptions.parse`, so that it parses
    them after whichever checks of its own come first.

    Args:
        reset_keys: also offer ``--reset-keys`` (``record`` does not restart games).
    """
    names = [n for n in _OPTIONS if reset_keys or n != "reset_keys"]

    def decorate(command: _Command) -> _Command:
        sig = inspect.signature(command, eval_str=True)
        if "window_args" not in sig.parameters:
            raise TypeError(f"{command.__name__} needs a window_args parameter to fill")
        params: list[inspect.Parameter] = []
        for p in sig.parameters.values():
            if p.name != "window_args":
                params.append(p)
                continue
            params += [
                inspect.Parameter(n, p.kind, default=None, annotation=_OPTIONS[n]) for n in names
            ]

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            window_args = {n: kwargs.pop(n) for n in names}
            return command(**kwargs, window_args=window_args)

        run.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate


class WindowOptionError(ConfigError):
    """A window or game-over option has a bad value (the message names it and the fix)."""


def _floats(text: str, n: int, flag: str, example: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise WindowOptionError(f"{flag} must be {n} numbers like {example}, not {text!r}")
    return values


@dataclass(frozen=True)
class WindowOptions:
    """The game window and how an episode ends on it (parsed command-line options).

    Attributes:
        title: capture the window whose title contains this.
        region: or this ``(left, top, width, height)``.
        game_over_image: a screenshot of the game-over screen.
        game_over_box: ``(top, left, bottom, right)`` fractions compared with it.
        game_over_tol: largest mean difference (0-255) that matches it.
        game_over_still: seconds of a (nearly) unchanged screen that end an episode.
        game_over_still_tol: largest thumbnail difference that counts as unchanged.
        reset_keys: keys tapped to start the next game; ``None``: the env's default (none,
            or the built-in game's preset), ``()``: none.
    """

    title: str | None = None
    region: tuple[int, int, int, int] | None = None
    game_over_image: Path | None = None
    game_over_box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    game_over_tol: float = DEFAULT_GAME_OVER_TOL
    game_over_still: float | None = None
    game_over_still_tol: float = DEFAULT_STILL_TOL
    reset_keys: tuple[str, ...] | None = None

    @classmethod
    def parse(
        cls,
        title: str | None = None,
        region: str | None = None,
        game_over_image: str | Path | None = None,
        game_over_box: str | None = None,
        game_over_tol: float | None = None,
        game_over_still: float | None = None,
        game_over_still_tol: float | None = None,
        reset_keys: str | None = None,
    ) -> WindowOptions:
        """Check the options as typed (``None``: not given) and return them parsed.

        Raises:
            WindowOptionError: a bad value or combination (``RegionError`` for ``region``).
        """
        from bc_gym.record.region import parse_region

        if title is not None and region is not None:
            raise WindowOptionError(
                f"give --title TEXT or --region X,Y,W,H, not both (got --title {title!r} "
                f"and --region {region!r})"
            )
        if title is not None and not title.strip():
            raise WindowOptionError("--title is empty: give a part of the game window's title")
        box = (0.0, 0.0, 1.0, 1.0)
        if game_over_box is not None:
            if game_over_image is None:
                raise WindowOptionError(
                    f"--game-over-box {game_over_box} needs --game-over-image PNG: the box is "
                    "the part of that image (and of each frame) that is compared"
                )
            box = _floats(game_over_box, 4, "--game-over-box", "0.35,0,0.65,1")
            top, left, bottom, right = box
            if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
                raise WindowOptionError(
                    f"--game-over-box is top,left,bottom,right fractions of the frame with "
                    f"0 <= top < bottom <= 1 and 0 <= left < right <= 1, not {game_over_box!r}"
                )
        tol = DEFAULT_GAME_OVER_TOL if game_over_tol is None else float(game_over_tol)
        if not 0 <= tol <= 255:
            raise WindowOptionError(
                f"--game-over-tol is a mean pixel difference between 0 and 255, not {tol:g}"
            )
        image = None
        if game_over_image is not None:
            image = Path(game_over_image)
            if not image.is_file():
                raise WindowOptionError(
                    f"--game-over-image {str(image)!r} does not exist; save one with "
                    "`bc-gym find-region --title TEXT --save-game-over PNG` while the game "
                    "shows its game-over screen"
                )
            import cv2

            if cv2.imread(str(image), cv2.IMREAD_COLOR) is None:
                raise WindowOptionError(
                    f"--game-over-image {str(image)!r} is not an image OpenCV can read "
                    "(use a PNG or JPEG screenshot)"
                )
        if game_over_still is not None and not (
            math.isfinite(game_over_still) and game_over_still > 0
        ):
            raise WindowOptionError(
                f"--game-over-still is the seconds the screen must stay still (> 0), not "
                f"{game_over_still:g}"
            )
        if game_over_still_tol is not None and game_over_still is None:
            raise WindowOptionError(
                "--game-over-still-tol needs --game-over-still SECONDS (it is that detector's "
                "tolerance)"
            )
        still_tol = DEFAULT_STILL_TOL if game_over_still_tol is None else game_over_still_tol
        if not 0 <= still_tol <= 255:
            raise WindowOptionError(
                f"--game-over-still-tol is a mean pixel difference between 0 and 255, not "
                f"{still_tol:g}"
            )
        keys = None
        if reset_keys is not None:
            keys = tuple(k.strip() for k in reset_keys.split(","))
            if reset_keys.strip().lower() == "none":
                keys = ()
            elif not all(keys):
                raise WindowOptionError(
                    f"--reset-keys is a comma-separated list of key names such as space or "
                    f"enter (or none), not {reset_keys!r}"
                )
        return cls(
            title=title,
            region=parse_region(region) if region is not None else None,
            game_over_image=image,
            game_over_box=box,  # type: ignore[arg-type]
            game_over_tol=tol,
            game_over_still=None if game_over_still is None else float(game_over_still),
            game_over_still_tol=float(still_tol),
            reset_keys=keys,
        )

    @property
    def has_window(self) -> bool:
        """True when a window (``title``) or a region was given."""
        return self.title is not None or self.region is not None

    @property
    def has_game_over(self) -> bool:
        """True when a game-over detector was asked for (an image or a still screen)."""
        return self.game_over_image is not None or self.game_over_still is not None

    def with_window(
        self, title: str | None, region: tuple[int, int, int, int] | None
    ) -> WindowOptions:
        """A copy that captures ``title`` (or ``region``) instead."""
        from dataclasses import replace

        return replace(self, title=title, region=None if title is not None else region)

    def detector(self) -> Any:
        """The game-over detector of these options, or ``None`` when none was asked for.

        A :class:`~bc_gym.envs.detectors.TemplateDetector` for ``game_over_image``, a
        :class:`~bc_gym.envs.detectors.FrozenScreenDetector` for ``game_over_still``, and
        :class:`~bc_gym.envs.detectors.AnyOf` both when both are given.
        """
        from bc_gym.envs.detectors import AnyOf, FrozenScreenDetector, TemplateDetector

        found: list[Any] = []
        if self.game_over_image is not None:
            found.append(
                TemplateDetector(
                    self.game_over_image, box=self.game_over_box, tol=self.game_over_tol
                )
            )
        if self.game_over_still is not None:
            found.append(FrozenScreenDetector(self.game_over_still, tol=self.game_over_still_tol))
        if not found:
            return None
        return found[0] if len(found) == 1 else AnyOf(*found)

    def env_kwargs(self) -> dict[str, Any]:
        """``ScreenEnv`` arguments: ``title``/``region``, and ``game_over``/``reset_keys`` if set.

        Options left out keep ``ScreenEnv``'s defaults (or its ``game`` preset's).
        """
        kwargs: dict[str, Any] = {}
        if self.title is not None:
            kwargs["title"] = self.title
        if self.region is not None:
            kwargs["region"] = self.region
        det = self.detector()
        if det is not None:
            kwargs["game_over"] = det
        if self.reset_keys is not None:
            kwargs["reset_keys"] = self.reset_keys
        return kwargs
