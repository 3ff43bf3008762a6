import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_bc_ceiling_smoke():
    """The exact-state ceiling runs top to bottom with both learners and prints its tables."""
    cmd = [sys.executable, "-m", "benchmarks.bc_ceiling", "--episodes", "2,2m", "--updates", "50",
           "--runs", "2", "--seeds", "2", "--learners", "mlp,trees", "--no-write"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "runs 1-2 | mean % of expert |" in res.stdout
    for row in ("| MLP | 2 |", "| boosted trees | 2 |", "| MLP | 2 + mirrored |",
                "| boosted trees on exact state, 2 + mirrored episodes, run 2 |"):  # fmt: skip
        assert row in res.stdout, res.stdout[-2000:]
    bad = [sys.executable, "-m", "benchmarks.bc_ceiling", "--episodes", "2", "--seeds", "1",
           "--learners", "svm", "--no-write"]  # fmt: skip
    res = subprocess.run(bad, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode != 0 and "unknown learner 'svm'" in res.stderr
