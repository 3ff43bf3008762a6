"""A wrong value a user types ends every command with one line on stderr and exit status 2.

Each case runs the real ``bc-gym`` app (typer's CliRunner, through the app's own guard); two run
the console script in a subprocess. A traceback is for bugs only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bc_gym.cli import app

NO_DISPLAY = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "XDG_SESSION_TYPE": ""}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A small recording (2 episodes of 48x64 frames)."""
    from bc_gym.actions import ActionMap
    from bc_gym.datasets import DatasetWriter

    path = tmp_path_factory.mktemp("errors") / "data"
    amap = ActionMap.from_names(["noop", "up", "down"])
    with DatasetWriter(path, action_map=amap, fps=30.0, obs_shape=(48, 64, 3)) as writer:
        for _ in range(2):
            writer.begin_episode(np.zeros((48, 64, 3), np.uint8))
            for a in [0, 1, 2] * 5:
                writer.step(a, np.full((48, 64, 3), 40 * a, np.uint8))
            writer.end_episode()
    return path


def cases(data: Path, tmp: Path) -> list[tuple[list[str], str]]:
    """``(arguments, a part of the error line)`` for each command."""
    d, o = str(data), str(tmp / "out")
    (tmp / "file").write_text("not a folder")
    run = str(tmp / "run")
    assert CliRunner().invoke(app, ["train", "majority", d, "-o", run]).exit_code == 0
    train = ["train", "cnn-bc", d, "-o", o]
    return [
        (train + ["--val-fraction", "1.5"], "val_fraction must be in [0, 1)"),
        (train + ["--val-fraction", "-0.1"], "val_fraction must be in [0, 1)"),
        (train + ["--obs-size", "600x150"], "multiples of 16 and at least 48"),
        (train + ["--obs-size", "big"], "obs size must be 'auto' or WxH"),
        (train + ["--set", "hidden=abc"], "hidden must be an integer (default 256)"),
        (train + ["--set", "depth=3"], "expected KEY=VALUE with KEY one of"),
        (train + ["--epochs", "0"], "epochs must be >= 1"),
        (train + ["--epochs", "many"], "Invalid value for '--epochs'"),
        (train + ["--device", "tpu"], "device must be 'cpu' or 'cuda'"),
        (["train", "cnn-bc", d, "-o", str(tmp / "file")], "is a file; give a folder"),
        (["train", "cnn-bc", str(tmp / "nope"), "-o", o], "no dataset at"),
        (["train", "cnn-bb", d, "-o", o], "Did you mean: 'cnn-bc'?"),
        (["play", str(tmp / "nope"), "--env", "bc_gym/HighwayRacer-v0"], "not an agent checkpoint"),
        (["play", run, "--env", "nosuch/Game-v0"], "unknown env id 'nosuch/Game-v0'"),
        (["play", run, "--env", "bc_gym/HighwayRacer-v9"], "It provides versioned environments"),
        (["record", "-o", o, "--title", "Game"], "No DISPLAY is set"),
        (["record", "-o", o, "--region", "1,2"], "region must be X,Y,W,H"),
        (["find-region", "--title", "Game"], "No DISPLAY is set"),
        (["bench", d, "--agents", "cnn-bc,nobody"], "unknown agents ['nobody']"),
        (["bench", d, "--val-fraction", "0"], "val_fraction must be in (0, 1)"),
        (["data", "info", str(tmp / "nope")], "no dataset at"),
        (["data", "info", str(tmp / "file")], "is a file, not a bc-gym dataset"),
        (["data", "view", d, "--episode", "7"], "the dataset has 2 episode(s)"),
        (["data", "view", d, "--scale", "0"], "Invalid value for --scale"),
        (["data", "split", d, "--train", o, "--val", o + "v", "--val-fraction", "1"], "[0, 1)"),
        (["data", "export", d, "--to", "zip", "-o", o], "--to must be minari or png"),
        (["data", "import-png", str(tmp), "-o", o], "no numbered PNG frames"),
        (["data", "merge", d, "-o", d], "already exists; refusing to overwrite"),
        (["game", "highway", "--lanes", "9"], "lanes must be in [2, 5]"),
        (["game", "highway", "--scale", "0"], "Invalid value for --scale"),
        (["demo", "--agents", "cnn-bc,nobody"], "unknown agents ['nobody']"),
        (["demo", "--record-s", "-5"], "Invalid value for --record-s"),
        (["trian", "cnn-bc"], "No such command 'trian'"),
    ]


def test_every_command_gives_one_line_and_status_2(data, tmp_path):
    runner = CliRunner()
    for args, part in cases(data, tmp_path):
        res = runner.invoke(app, args, env=NO_DISPLAY)
        lines = res.stderr.splitlines()
        assert res.exit_code == 2, (args, res.output, res.exception)
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, res.stderr)
        assert part in lines[0], (args, lines[0])
        assert "Traceback" not in res.output, args


def test_the_console_script_prints_one_line_too(data, tmp_path):
    exe = Path(sys.executable).with_name("bc-gym")
    for args in (["train", "cnn-bc", str(data), "-o", str(tmp_path), "--val-fraction", "2"],
                 ["data", "info", str(tmp_path / "nope")]):  # fmt: skip
        res = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2, res.stderr
        assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: "), res.stderr
        assert "Traceback" not in res.stderr and res.stdout == ""


def test_a_bug_keeps_its_traceback(data, tmp_path, monkeypatch):
    """Only the product's own errors become one line: anything else is not hidden."""
    import bc_gym.commands.data as commands

    def broken(ds):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(commands, "training_warnings", broken)
    res = CliRunner().invoke(app, ["data", "info", str(data)])
    assert res.exit_code == 1 and isinstance(res.exception, ZeroDivisionError)
