import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
AGENTS = [sys.executable, str(ROOT / "benchmarks" / "agents.py")]


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_benchmark_smoke(tmp_path):
    """benchmarks/agents.py with tiny arguments runs top to bottom and writes its table."""
    cmd = [*AGENTS, "--tiny", "--agents", "latent-gpt,cnn-bc,majority,random", "--out",
           str(tmp_path), "--name", "agents-smoke", "--obs-size", "96", "--set",
           "cnn-bc.n_stack=3", "--set", "latent-gpt.aux_next_latent=0.5", "--set",
           "dropout=0.2"]  # fmt: skip
    res = _run(cmd)
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
    cnn = json.loads((tmp_path / "cnn-bc-seed0" / "config.json").read_text())
    assert cnn["n_stack"] == 3
    # --obs-size reached the data and the agents (the game's native 96x96 frame).
    assert "96x96 frames" in res.stdout
    assert cnn["obs_shape"][:2] == [96, 96], cnn
    gpt = json.loads((tmp_path / "latent-gpt-seed0" / "config.json").read_text())["agent_config"]
    assert gpt["aux_next_latent"] == 0.5 and gpt["dropout"] == 0.2
    # The --set options label the table.
    assert "## Agents on HighwayRacer (headless): cnn-bc.n_stack=3, " in res.stdout
    (ROOT / "benchmarks" / "results" / "agents-smoke-tiny.md").unlink(missing_ok=True)


def _row(md: str, label: str) -> list[str]:
    line = next(x for x in md.splitlines() if x.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_protocol_trains_every_seed_drives_the_same_seeds_and_resumes(tmp_path):
    """2 training seeds x (cnn-bc, random, exact-state MLP) in 2 processes; reruns use the cache."""
    cmd = [*AGENTS, "--tiny", "--episodes", "2", "--eval-seeds", "2", "--train-seeds", "3,4",
           "--agents", "cnn-bc,random", "--set", "cnn-bc.epochs=2", "--set",
           "cnn-bc.steps_per_epoch=2", "--set", "state-mlp.updates=7", "--variant", "ablation x",
           "--jobs", "2", "--out", str(tmp_path), "--name", "protocol-smoke"]  # fmt: skip
    res = _run(cmd)
    assert res.returncode == 0, res.stderr[-3000:]
    md = (ROOT / "benchmarks" / "results" / "protocol-smoke-tiny.md").read_text()
    assert "## Agents on HighwayRacer (headless): ablation x" in md
    # The table names its command, quoted so that it can be pasted back into a shell.
    command = re.search(r"Command: `([^`]*)`", md)
    assert command and shlex.split(command.group(1))[2:] == cmd[len(AGENTS) :], md[:600]
    saved = json.loads((tmp_path / "summary.json").read_text())
    expert = saved["expert_mean"]
    assert saved["train_seeds"] == [3, 4] and saved["variant"] == "ablation x"
    for agent in ("cnn-bc", "random", "state-mlp"):
        recs = [json.loads((tmp_path / f"{agent}-seed{s}" / "result.json").read_text())
                for s in (3, 4)]  # fmt: skip
        for rec, seed in zip(recs, (3, 4), strict=True):
            assert rec["seed"] == seed
            assert [e["seed"] for e in rec["episodes"]] == [10_000, 10_001]  # the same seeds
            assert all(0 < e["steps"] <= 60 for e in rec["episodes"])
            assert all(e["seconds"] == pytest.approx(e["steps"] / 30) for e in rec["episodes"])
        # The table's per-seed cells and spread are those of the two results.
        pcts = [100 * sum(e["return"] for e in r["episodes"]) / 2 / expert for r in recs]
        label = next(k for k in saved["agents"] if k.startswith(agent) or
                     (agent == "state-mlp" and k.startswith("exact-state MLP")))  # fmt: skip
        row = _row(md, label)
        assert row[1] == f"**{sum(pcts) / 2:.0f}%**", row
        assert row[2].startswith(f"{min(pcts):.0f}-{max(pcts):.0f}%"), row
        assert row[3].startswith("3: ") and " · 4: " in row[3], row
    assert _row(md, "cnn-bc")[7] == "4"  # 2 epochs x 2 steps: the --set training options
    assert "reference: 7 updates, + mirrored" in md
    # Rows: the summary, one per training seed, "how they fail" (training seed 3).
    assert len([x for x in md.splitlines() if x.startswith("| cnn-bc | ")]) == 4
    # A rerun reads every job back from its result.json and writes the same table.
    again = _run(cmd)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count(": cached (") == 6, again.stdout
    md2 = (ROOT / "benchmarks" / "results" / "protocol-smoke-tiny.md").read_text()
    strip = [x for x in md.splitlines()[1:] if "Peak memory" not in x and "Machine" not in x]
    assert strip == [x for x in md2.splitlines()[1:] if "Peak memory" not in x and
                     "Machine" not in x]  # fmt: skip
    # Another option is another job: cnn-bc trains again, the others are read back.
    third = _run([*cmd, "--set", "cnn-bc.lr=0.002", "--jobs", "1"])
    assert third.returncode == 0, third.stderr[-3000:]
    assert third.stdout.count(": cached (") == 4
    assert "cnn-bc seed 3 (2 episodes): training" in third.stdout
    (ROOT / "benchmarks" / "results" / "protocol-smoke-tiny.md").unlink(missing_ok=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "cnn-bc.nope=1"], "cnn-bc has no option 'nope'"),
        (["--set", "cnn-bc.epochs=many"], "expected a int value like 1"),
        (["--set", "cnn-bc.mirror"], "expected [AGENT.]KEY=VALUE"),
        (["--seed", "1", "--train-seeds", "0,1"], "give --seed 1 or --train-seeds 0,1"),
        (["--train-seeds", "0,0"], "--train-seeds needs distinct seeds"),
        (["--agents", "cnn-bb"], "unknown agents ['cnn-bb']"),
        (["--budget", "277"], "training has no time budget any more"),
    ],
)
def test_bad_options_are_named(tmp_path, args, message):
    res = _run([*AGENTS, "--tiny", "--out", str(tmp_path), "--name", "bad-smoke", *args])
    assert res.returncode == 2 and message in res.stderr, res.stderr[-2000:]


def test_vae_ablation_alone_skips_the_agents_and_the_expert(tmp_path):
    """`--agents "" --vae-ablation` writes the loss table only and drives no game."""
    cmd = [*AGENTS, "--tiny", "--agents", "", "--vae-ablation", "--out", str(tmp_path), "--name",
           "ablation-smoke"]  # fmt: skip
    res = _run(cmd)
    assert res.returncode == 0, res.stderr[-3000:]
    for recon in ("mse", "fg", "edge"):
        assert f"| {recon} |" in res.stdout
    assert "expert (noise 0)" not in res.stdout and "| agent |" not in res.stdout
    (ROOT / "benchmarks" / "results" / "ablation-smoke-tiny.md").unlink(missing_ok=True)
