"""``bc-gym demo --game runner`` end to end at toy sizes, on the real Runner page in Chromium.

The full demo records 10 minutes; this runs every stage of the same code path with a few
seconds of recording, a few training updates and one short live game per policy, then checks
that nothing it started is left: no Chromium, no Xvfb, no key held.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from bc_gym.cli import app
from tests.utils import keys_down

pytest.importorskip("torch")


def _children() -> set[int]:
    """Process ids whose parent is this process (what it started and did not reap)."""
    me, kids = str(os.getpid()), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if fields[1] == me and fields[0] != "Z":
            kids.add(int(stat.parent.name))
    return kids


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--game", "pong"], "expected one of ['highway', 'runner'], actual value: 'pong'"),
        (["--game", "runner", "--train-s", "5"], "--train-s does not apply to --game runner"),
        (["--updates", "5"], "--updates does not apply to --game highway"),
        (["--game", "runner", "--updates", "-1"], "must be >= 0"),
    ],
)
def test_demo_options_are_checked_before_anything_starts(args, error):
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["demo", *args])
    assert res.exit_code == 2
    assert error in " ".join(res.output.replace("│", " ").split()), res.output


def test_agent_options_are_checked_before_anything_runs(tmp_path):
    from bc_gym.demo_runner import RunnerDemoConfig

    with pytest.raises(ValueError, match="cnn-bc has no option 'depth'"):
        RunnerDemoConfig(out=tmp_path, agent_options={"cnn-bc": {"depth": 3}})
    with pytest.raises(ValueError, match="motion must be one of"):
        RunnerDemoConfig(out=tmp_path, agent_options={"cnn-bc": {"motion": "flow"}})
    cfg = RunnerDemoConfig(out=tmp_path)
    assert cfg.agent_config("cnn-bc").motion == "diff" and cfg.agent_config("random") is None


@pytest.mark.x11
@pytest.mark.chromium
@pytest.mark.train
@pytest.mark.slow
def test_runner_demo_runs_every_stage_on_the_live_page(xvfb, tmp_path, monkeypatch):
    from bc_gym.datasets import load_dataset
    from bc_gym.demo_runner import RunnerDemoConfig, run_runner_demo

    # Chromium's throw-away profiles go under tmp_path: its processes name it on their
    # command line, which finds any left behind (other tests' Chromium do not).
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = _children()
    # More noise than the demo's, for a crash or two in 10 s of recording.
    cfg = RunnerDemoConfig(out=tmp_path / "demo", agents=("latent-gpt", "cnn-bc"), record_s=10,
                           updates=2, episodes=1, max_steps=60, noise=0.05)  # fmt: skip
    table = run_runner_demo(cfg)

    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| policy | mean score")
    policies = [r.split("|")[1].strip() for r in rows[1:]]
    assert policies[0].startswith("scripted expert")
    assert policies[1:] == ["latent-gpt", "cnn-bc", "random"]

    # The recording: the page's window at its own size, with the autopilot's real key presses.
    ds = load_dataset(cfg.out / "data")
    assert ds[0].observations.shape[1:] == (150, 600, 3)
    assert ds.total_steps >= 150  # 10 s at 30 Hz, less the start-up and the freezes
    actions = np.concatenate([np.asarray(ds[i].actions) for i in range(len(ds))])
    assert (actions != ds.action_map.index("noop")).any()

    saved = json.loads((cfg.out / "results.json").read_text())
    # Episodes were cut only where a game ended (the GAME OVER freeze), never mid-game.
    assert len(ds) <= saved["config"]["recorded_crashes"] + 1
    results = saved["results"]
    assert [r["episodes"] for r in results] == [1, 1, 1, 1]
    assert results[0]["mean_return"] > 0  # the expert's score, read from the page's title
    for r in results:
        assert r["mean_seconds"] > 0, r
    for r in results[1:]:  # agents played through the screen env at a measured rate
        assert r["control_hz"] > 0, r  # (its value depends on the load of the machine)
        assert r["obs_age_p50_ms"] is not None
    assert (cfg.out / "scores.png").stat().st_size > 0
    for agent in ("latent-gpt", "cnn-bc", "random"):
        assert (cfg.out / "runs" / agent / "config.json").is_file(), agent
    cnn = json.loads((cfg.out / "runs" / "cnn-bc" / "config.json").read_text())
    assert cnn["agent_config"]["motion"] == "diff"  # the demo's agent_options reached training

    assert _children() <= before, "a process the demo started (Chromium, Xvfb) is still running"
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert left.stdout == "", "a Chromium process outlived the demo"
    assert keys_down() == []  # no key left held on the X server after the demo
