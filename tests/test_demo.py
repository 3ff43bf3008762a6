"""``bc-gym demo`` end to end at toy sizes: real window, real keys, recording, training, live play.

The published demo runs for ~12 minutes; this runs every stage of the same code path with a
10 s recording, seconds of training and one short live game per policy.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.utils import keys_down

pytest.importorskip("torch")
pytestmark = pytest.mark.x11


def test_demo_runs_every_stage_on_a_live_window(xvfb, tmp_path):
    from bc_gym.datasets import load_dataset
    from bc_gym.demo import DemoConfig, run_demo

    cfg = DemoConfig(out=tmp_path / "demo", record_s=10, train_s=8, episodes=1, max_steps=45)
    table = run_demo(cfg)

    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    policies = [r.split("|")[1].strip() for r in rows[1:]]
    assert policies[0].startswith("scripted expert")
    assert policies[1:] == ["cnn-bc", "latent-gpt", "random"]  # the lead agent first

    # The recording holds the expert's real key presses, not only "noop".
    ds = load_dataset(cfg.out / "data")
    actions = np.concatenate([np.asarray(ds[i].actions) for i in range(len(ds))])
    assert ds.total_steps >= 200  # 10 s at 30 Hz, less a few startup ticks
    assert (actions != ds.action_map.index("noop")).mean() > 0.5

    results = json.loads((cfg.out / "results.json").read_text())["results"]
    assert [r["episodes"] for r in results] == [1, 1, 1, 1]
    for r in results[1:]:  # agents played through the screen env at a measured rate
        assert r["control_hz"] > 5, r
        assert r["obs_age_p50_ms"] is not None
    for name in ("table.md", "returns.png", "agent_driving.gif"):
        assert (cfg.out / name).stat().st_size > 0, name
    for agent in ("latent-gpt", "cnn-bc"):
        assert (cfg.out / "runs" / agent / "config.json").is_file(), agent
    assert keys_down() == []  # no key left held on the X server after the demo


def test_sigterm_stops_the_demo_its_window_and_keeps_the_recording(xvfb, tmp_path):
    from bc_gym.datasets import load_dataset

    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "bc_gym.cli", "demo", "-o", str(out), "--record-s", "60",
           "--train-s", "5", "--episodes", "1", "--max-steps", "45"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    orphans = ["pgrep", "-f", f"--log {out}"]  # the demo's game window, by its log path
    try:
        seen = []
        for line in proc.stdout:  # wait until the recorder reports its first frames
            seen.append(line)
            if "REC 00:0" in line and " 0 frames" not in line:
                break
        assert proc.poll() is None, "".join(seen)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) != 0
        left = subprocess.run(orphans, capture_output=True, text=True).stdout
        assert left == "", "the demo's game window outlived it"
    finally:
        proc.kill()
        proc.stdout.close()
        subprocess.run(["pkill", *orphans[1:]])  # whatever the outcome, stop what we started
    assert keys_down() == []
    ds = load_dataset(out / "data")  # what was recorded so far is a readable dataset
    assert ds.total_steps > 0


def test_the_command_leads_with_the_configs_default_agent(tmp_path, monkeypatch):
    """`bc-gym demo` without --agents trains DemoConfig's agents, lead first; --agents wins."""
    from typer.testing import CliRunner

    import bc_gym.demo
    from bc_gym.cli import app

    seen: list[bc_gym.demo.DemoConfig] = []
    monkeypatch.setattr(bc_gym.demo, "run_demo", seen.append)
    for args, agents in (([], ("cnn-bc", "latent-gpt")), (["--agents", "random"], ("random",))):
        res = CliRunner().invoke(app, ["demo", "-o", str(tmp_path), *args])
        assert res.exit_code == 0, res.output
        assert seen.pop().agents == agents
