"""benchmarks/runner_lead.py at toy sizes: real recipes with a lead, real training, real games."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def test_runner_lead_smoke_and_resume(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks.runner_lead", "--tiny", "--leads", "0,2",
           "--delays", "0,1", "--jobs", "1", "--out", str(tmp_path), "--no-write"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "| expert lead (steps) | policy | keys 0 step(s) late | keys 1 step(s) late |" in (
        res.stdout
    )
    for lead in ("0", "2"):
        assert re.search(rf"^\| {lead} \| the expert \| \d+% \| \d+% \|$", res.stdout, re.M)
        rec = json.loads((tmp_path / f"lead{lead}-seed0" / "result.json").read_text())
        assert set(rec["returns"]) == {"0", "1"} and rec["key"]["lead"] == float(lead)
        assert re.search(rf"^\| {lead} \| cnn-bc trained on it \| \*\*\d+%\*\* \(\d+%\) \|",
                         res.stdout, re.M)  # fmt: skip
    # A second run reads every job back from --out instead of training again.
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0 and "trained in" not in res.stdout, res.stdout[-2000:]


def test_runner_lead_refuses_an_unknown_option_at_once(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks.runner_lead", "--set", "normalise=dataset",
           "--out", str(tmp_path), "--no-write"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "--set 'normalise=dataset': expected KEY=VALUE" in res.stderr
    assert "Traceback" not in res.stderr and not any(tmp_path.iterdir())  # nothing trained
