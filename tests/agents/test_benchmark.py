import json
import re
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
           "--name", "agents-smoke", "--set", "cnn-bc.n_stack=3",
           "--set", "latent-gpt.aux_next_latent=0.5", "--set", "dropout=0.2"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "| latent-gpt |" in res.stdout and "| majority |" in res.stdout
    rss = re.search(
        r"Peak memory of the whole benchmark process \(max RSS\): ([0-9.]+) GiB", res.stdout
    )
    assert rss and 0.1 < float(rss.group(1)) < 16
    # The agent options reached the agents they name (unprefixed: latent-gpt).
    assert json.loads((tmp_path / "cnn-bc" / "config.json").read_text())["n_stack"] == 3
    gpt = json.loads((tmp_path / "latent-gpt" / "config.json").read_text())["agent_config"]
    assert gpt["aux_next_latent"] == 0.5 and gpt["dropout"] == 0.2
    (ROOT / "benchmarks" / "results" / "agents-smoke-tiny.md").unlink(missing_ok=True)
