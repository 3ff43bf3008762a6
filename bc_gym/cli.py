"""The ``bc-gym`` command: thin wrappers over the library.

Each command group lives in ``bc_gym/commands/<group>.py`` and imports heavy modules lazily,
so ``bc-gym --help`` stays fast and works without torch, pygame or a display.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from bc_gym.commands import agents, bench, data, demo, game, record
from bc_gym.errors import BcGymError

try:  # typer >= 0.20 carries its own copy of click
    from typer._click import exceptions as _click_errors
except ImportError:  # pragma: no cover - older typer on click
    from click import exceptions as _click_errors


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined by spaces."""
    return " ".join(str(text).split())


class GuardedGroup(TyperGroup):
    """The ``bc-gym`` group: a user's mistake ends in one line on stderr and exit status 2.

    A :class:`~bc_gym.errors.BcGymError` (a bad dataset or run folder, no display, no window,
    an option value the library refused) or a usage error (an unknown option, a value typer or
    a command rejected) prints ``error: ...`` with what to do, without usage text or a
    traceback. Anything else is a bug and keeps its traceback.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; in standalone mode, turn user errors into one line and status 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except _click_errors.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `bc-gym data`: the help, as usual
                if exc.format_message().strip():  # (typer has printed it already)
                    typer.echo(exc.format_message(), err=True)
                sys.exit(exc.exit_code)
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _error(exc.format_message() + hint)
        except BcGymError as exc:
            _error(str(exc))
        except _click_errors.ClickException as exc:
            _error(exc.format_message(), exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _error(message: str, status: int = 2) -> None:
    typer.secho(f"error: {one_line(message)}", fg=typer.colors.RED, err=True)
    sys.exit(status)


app = typer.Typer(
    name="bc-gym",
    help="Teach an agent to play a real-time game by watching a person play it on screen.",
    cls=GuardedGroup,
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
    """Entry point of the ``bc-gym`` console script (user errors: see :class:`GuardedGroup`)."""
    sigterm_exits()
    app()


if __name__ == "__main__":
    main()
