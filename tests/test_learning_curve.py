"""benchmarks/learning_curve.py at toy sizes: real recipe data, real training, real episodes."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def test_learning_curve_smoke_and_resume(tmp_path):
    """2 episode counts x (cnn-bc, exact-state MLP) x 2 training seeds; a rerun resumes."""
    cmd = [sys.executable, "-m", "benchmarks.learning_curve", "--tiny", "--episodes", "2,3",
           "--train-seeds", "0,1", "--eval-seeds", "2", "--agents", "cnn-bc", "--out",
           str(tmp_path), "--no-write"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "| episodes | minutes of play | cnn-bc | exact-state MLP (+ mirrored) |" in res.stdout
    assert (tmp_path / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "learning_curve.json").read_text())
    assert summary["episodes"] == [2, 3] and summary["train_seeds"] == [0, 1]
    # Minutes of play: the recipe's steps / fps (tiny episodes: 60 steps at 30 fps).
    assert summary["minutes"] == pytest.approx([2 * 60 / 30 / 60, 3 * 60 / 30 / 60])
    for n, minutes in zip((2, 3), summary["minutes"], strict=True):
        row = re.search(rf"^\| {n} \| {minutes:.1f} \| (.+) \| (.+) \|$", res.stdout, re.M)
        assert row, res.stdout[-2000:]
        for cell, agent in zip(row.groups(), ("cnn-bc", "state-mlp"), strict=True):
            recs = [json.loads((tmp_path / f"{agent}-n{n}-seed{s}" / "result.json").read_text())
                    for s in (0, 1)]  # fmt: skip
            assert {r["seed"] for r in recs} == {0, 1}
            pcts = [100 * np.mean([e["return"] for e in r["episodes"]]) / summary["expert_mean"]
                    for r in recs]  # fmt: skip
            assert cell.startswith(f"{np.mean(pcts):.0f}% ({min(pcts):.0f}-{max(pcts):.0f}")
    # Resume: the finished points are read back, a missing one is trained again.
    (tmp_path / "cnn-bc-n3-seed1" / "result.json").unlink()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count(": cached (") == 7
    assert "cnn-bc seed 1 (3 episodes): trained in" in again.stdout
    assert (tmp_path / "cnn-bc-n3-seed1" / "result.json").is_file()
