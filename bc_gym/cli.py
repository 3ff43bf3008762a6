"""The ``bc-gym`` command: thin wrappers over the library.

Each command group lives in ``bc_gym/commands/<group>.py`` and imports heavy modules lazily,
so ``bc-gym --help`` stays fast and works without torch, pygame or a display.
"""

from __future__ import annotations

import signal
from typing import Any

import typer

from bc_gym.commands import agents, bench, data, demo, game, record

app = typer.Typer(
    name="bc-gym",
    help="Teach an agent to play a real-time game by watching a person play it on screen.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(game.app, name="game")
app.add_typer(data.app, name="data")
app.command("demo")(demo.demo)
app.command("record")(record.record)
app.command("find-region")(record.find_region)
app.command("train")(agents.train)
app.command("play")(agents.play)
app.command("bench")(bench.bench)


@app.command()
def version() -> None:
    """Print the bc-gym version and the versions of its key dependencies."""
    import gymnasium
    import numpy

    import bc_gym

    typer.echo(f"bc-gym {bc_gym.__version__}")
    typer.echo(f"gymnasium {gymnasium.__version__}, numpy {numpy.__version__}")


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def sigterm_exits() -> None:
    """Make SIGTERM unwind like Ctrl-C (call from the main thread).

    Python's default SIGTERM ends the process at once: no ``finally`` or ``with`` block runs,
    so the game windows and the Xvfb that a command started would outlive it. Raised as
    ``SystemExit``, it closes them on the way out (and the key controller, which chains to
    this handler, still releases every held key first).
    """
    signal.signal(signal.SIGTERM, _exit)


def main() -> None:
    """Entry point of the ``bc-gym`` console script."""
    from bc_gym.errors import BcGymError

    sigterm_exits()
    try:
        app()
    except BcGymError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
