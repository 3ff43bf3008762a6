from __future__ import annotations

import h5py
import imageio.v2 as imageio
import numpy as np
from typer.testing import CliRunner

from bc_gym.cli import app
from bc_gym.datasets import load_dataset

runner = CliRunner()


def test_info_and_validate(tiny_highway, tmp_path):
    r = runner.invoke(app, ["data", "info", str(tiny_highway)])
    assert r.exit_code == 0, r.output
    assert "episodes     3 (0 incomplete)" in r.output and "steps        90" in r.output
    r = runner.invoke(app, ["data", "validate", str(tiny_highway)])
    assert r.exit_code == 0 and "valid" in r.output


def test_validate_reports_problems(tiny_highway, tmp_path):
    r = runner.invoke(
        app,
        [
            "data",
            "split",
            str(tiny_highway),
            "--train",
            str(tmp_path / "t"),
            "--val",
            str(tmp_path / "v"),
            "--val-fraction",
            "0.34",
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(load_dataset(tmp_path / "t")) == 2 and len(load_dataset(tmp_path / "v")) == 1
    with h5py.File(tmp_path / "v" / "episodes" / "episode_0.hdf5", "r+") as f:
        f["actions"][0] = 99
    r = runner.invoke(app, ["data", "validate", str(tmp_path / "v")])
    assert r.exit_code == 1
    assert "episode 0: actions[0]=99 out of range [0, 9) (1 bad actions)" in r.output


def test_merge_view_export(tiny_highway, tmp_path):
    out = tmp_path / "m"
    r = runner.invoke(app, ["data", "merge", str(tiny_highway), str(tiny_highway), "-o", str(out)])
    assert r.exit_code == 0, r.output
    m, src = load_dataset(out), load_dataset(tiny_highway)
    assert len(m) == 6 and m.episode_ids == list(range(6))
    np.testing.assert_array_equal(m[4].observations[:], src[1].observations[:])
    r = runner.invoke(app, ["data", "merge", str(tiny_highway), "-o", str(out)])
    assert r.exit_code == 2 and "refusing to overwrite" in r.output  # one line, no traceback
    r = runner.invoke(
        app,
        [
            "data",
            "view",
            str(tiny_highway),
            "-o",
            str(tmp_path / "v.gif"),
            "--scale",
            "2",
            "--max-frames",
            "10",
        ],
    )
    assert r.exit_code == 0, r.output
    frames = imageio.mimread(tmp_path / "v.gif")
    assert len(frames) == 10 and frames[0].shape[:2] == (128, 128)
    assert (tmp_path / "v.png").stat().st_size > 1000
    r = runner.invoke(
        app, ["data", "export", str(tiny_highway), "--to", "png", "-o", str(tmp_path / "p")]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["data", "import-png", str(tmp_path / "p"), "-o", str(tmp_path / "back")]
    )
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(load_dataset(tmp_path / "back")[0].actions, src[0].actions)
