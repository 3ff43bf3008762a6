"""``benchmarks/recorder.py`` runs end to end with tiny arguments (no results file written)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.x11
ROOT = Path(__file__).resolve().parents[2]


def test_recorder_benchmark_smoke():
    cmd = [sys.executable, "-m", "benchmarks.recorder", "--seconds", "1", "--fps", "30",
           "--sizes", "640x480", "--compressions", "gzip", "--label-seconds", "1.5",
           "--no-write"]  # fmt: skip
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| 640x480 | gzip | 30 |" in r.stdout
    assert "## Label alignment (30 fps, 1.5 s," in r.stdout
