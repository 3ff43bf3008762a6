import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_smoke(tmp_path):
    """benchmarks/agents.py with tiny arguments runs top to bottom and writes its table."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "agents.py"), "--tiny",
           "--agents", "latent-gpt,cnn-bc,majority,random", "--out", str(tmp_path),
           "--name", "agents-smoke"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "| latent-gpt |" in res.stdout and "| majority |" in res.stdout
    (ROOT / "benchmarks" / "results" / "agents-smoke-tiny.md").unlink(missing_ok=True)
