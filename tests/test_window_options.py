"""``with_window_options``: one declaration of the window and game-over options for a command."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from bc_gym.commands.window_options import WindowOptions, with_window_options


def _app(reset_keys: bool) -> tuple[typer.Typer, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    app = typer.Typer()

    @app.command()
    @with_window_options(reset_keys=reset_keys)
    def cmd(
        first: int = typer.Option(1, help="Before the window options."),
        window_args: dict[str, Any] | None = None,
        last: int = typer.Option(2, help="After them."),
    ) -> None:
        seen.append({"first": first, "last": last, **(window_args or {})})

    return app, seen


def test_the_options_stand_in_place_of_window_args_and_arrive_as_typed():
    app, seen = _app(reset_keys=True)
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    flags = ["--first", "--title", "--region", "--game-over-image", "--game-over-box"]
    flags += ["--game-over-tol", "--game-over-still ", "--game-over-still-tol", "--reset-keys"]
    positions = [help_text.index(f) for f in [*flags, "--last"]]
    assert positions == sorted(positions), help_text
    res = CliRunner().invoke(
        app, ["--region", "0,0,60,15", "--game-over-still", "1.5", "--reset-keys", "space"]
    )
    assert res.exit_code == 0, res.output
    (args,) = seen
    assert args == {
        "first": 1,
        "last": 2,
        "title": None,
        "region": "0,0,60,15",
        "game_over_image": None,
        "game_over_box": None,
        "game_over_tol": None,
        "game_over_still": 1.5,
        "game_over_still_tol": None,
        "reset_keys": "space",
    }
    window = WindowOptions.parse(**{k: v for k, v in args.items() if k not in ("first", "last")})
    assert window.region == (0, 0, 60, 15) and window.reset_keys == ("space",)


def test_reset_keys_can_be_left_out():
    app, seen = _app(reset_keys=False)
    res = CliRunner().invoke(app, ["--reset-keys", "space"])
    assert res.exit_code == 2 and "No such option: --reset-keys" in res.output
    assert CliRunner().invoke(app, ["--title", "Game"]).exit_code == 0
    assert "reset_keys" not in seen[0] and seen[0]["title"] == "Game"
