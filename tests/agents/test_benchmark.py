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
           "--name", "agents-smoke", "--obs-size", "96", "--set", "cnn-bc.n_stack=3",
           "--set", "latent-gpt.aux_next_latent=0.5", "--set", "dropout=0.2"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "| latent-gpt |" in res.stdout and "| majority |" in res.stdout
    # The failure table: one row per agent, crash kinds and the watch-the-expert figures.
    fail = res.stdout[res.stdout.index("### How they fail") :]
    for name in ("latent-gpt", "cnn-bc", "majority", "random"):
        row = re.search(rf"\| {name} \| ([^|]+) \| (\d+) \| ([0-9.]+) \|", fail)
        assert row, fail
        assert re.fullmatch(r"none|((collision|off road) \d+(, )?)+", row.group(1).strip())
        assert 0.0 <= float(row.group(3)) <= 1.0
    rss = re.search(
        r"Peak memory of the whole benchmark process \(max RSS\): ([0-9.]+) GiB", res.stdout
    )
    assert rss and 0.1 < float(rss.group(1)) < 16
    # The agent options reached the agents they name (unprefixed: latent-gpt).
    cnn = json.loads((tmp_path / "cnn-bc" / "config.json").read_text())
    assert cnn["n_stack"] == 3
    # --obs-size reached the data and the agents (the game's native 96x96 frame).
    assert "96x96 frames" in res.stdout
    assert cnn["obs_shape"][:2] == [96, 96], cnn
    gpt = json.loads((tmp_path / "latent-gpt" / "config.json").read_text())["agent_config"]
    assert gpt["aux_next_latent"] == 0.5 and gpt["dropout"] == 0.2
    (ROOT / "benchmarks" / "results" / "agents-smoke-tiny.md").unlink(missing_ok=True)


def test_vae_ablation_alone_skips_the_agents_and_the_expert(tmp_path):
    """`--agents "" --vae-ablation` writes the loss table only and drives no game."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "agents.py"), "--tiny", "--agents", "",
           "--vae-ablation", "--out", str(tmp_path), "--name", "ablation-smoke"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    for recon in ("mse", "fg", "edge"):
        assert f"| {recon} |" in res.stdout
    assert "expert (noise 0)" not in res.stdout and "| agent |" not in res.stdout
    (ROOT / "benchmarks" / "results" / "ablation-smoke-tiny.md").unlink(missing_ok=True)
