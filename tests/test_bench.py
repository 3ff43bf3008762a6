"""``bc_gym.bench`` and ``bc-gym bench``: real datasets, real training, real episodes (tiny)."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from bc_gym.bench import BenchConfig, run_bench, run_suite
from bc_gym.cli import app
from bc_gym.errors import BcGymError
from tests.utils import SEED

pytestmark = pytest.mark.train

AGENTS = ("majority", "random", "cnn-bc")
BUDGET_S = 3.0
MAX_STEPS = 40


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from bc_gym.datasets.recipes import highway_expert_dataset

    root = tmp_path_factory.mktemp("data")
    return highway_expert_dataset(n_episodes=3, max_steps=MAX_STEPS, root=root)


@pytest.fixture(scope="module")
def bench(dataset, tmp_path_factory):
    """One tiny bench run: (config, result dict)."""
    from bc_gym.agents.cnn_bc import CNNBCConfig

    cfg = BenchConfig(
        datasets=[dataset],
        agents=AGENTS,
        budget_s=BUDGET_S,
        seeds=2,
        max_steps=MAX_STEPS,
        results=tmp_path_factory.mktemp("bench") / "results",
        seed=SEED,
        threads=1,
        progress=False,
        configs={"cnn-bc": CNNBCConfig(hidden=16, channels=(8, 8, 8))},
    )
    return cfg, run_bench(cfg)


def test_results_folder_holds_tables_json_and_plots(bench):
    cfg, _ = bench
    names = ["results.md", "results.json", "returns.png", "offline.png"]
    names += [f"confusion-{a}.png" for a in AGENTS]
    for name in names:
        path = cfg.results / name
        assert path.is_file(), name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    for agent in AGENTS:
        assert (cfg.results / "runs" / agent / "config.json").is_file()
    md = (cfg.results / "results.md").read_text()
    assert md.startswith("# bc-gym bench\n\nMachine: ")
    assert "## Offline" in md and "## Online" in md
    assert f"{BUDGET_S:.1f} s per trained agent (--budget)" in md
    for agent in AGENTS:
        assert len(re.findall(rf"^\| {re.escape(agent)} \|", md, re.M)) == 2  # both tables


def test_json_fields(bench, dataset):
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.torch import split_episodes

    cfg, result = bench
    saved = json.loads((cfg.results / "results.json").read_text())
    assert saved["bench_version"] == 1
    assert saved["machine"] and saved["datasets"] == [str(dataset)]
    ds = load_dataset(dataset)
    held = split_episodes(ds, val_fraction=0.2, seed=SEED)[1]
    assert saved["split"]["held_out"] == [held]
    n_held = sum(len(ds[i]) for i in held)
    assert saved["split"]["held_out_frames"] == n_held
    assert saved["budget_s"] == BUDGET_S and saved["budget_source"] == "--budget"
    assert saved["online_env"]["seeds"] == [10_000 + 100 * SEED, 10_001 + 100 * SEED]
    assert [r["agent"] for r in saved["agents"]] == list(AGENTS)
    n = ds.action_map.n
    for row in saved["agents"]:
        off, on = row["offline"], row["online"]
        assert off["frames"] == n_held
        conf = np.asarray(off["confusion"])
        assert conf.shape == (n, n) and conf.sum() == n_held
        assert off["accuracy"] == pytest.approx(np.trace(conf) / n_held)
        assert 0.0 <= off["macro_f1"] <= 1.0
        assert on["episodes"] == 2 and len(on["returns"]) == 2
        assert 0.0 <= on["crash_rate"] <= 1.0
        assert 0 < on["mean_steps"] <= MAX_STEPS
        assert 0 <= on["act_p50_ms"] <= on["act_p95_ms"]
    cnn = saved["agents"][2]
    assert cnn["budget_s"] == BUDGET_S
    assert cnn["train_wall_s"] >= BUDGET_S  # the budget was spent, not skipped
    assert set(cnn["offline"]["train_val"]) == {"val_acc", "val_f1"}
    assert saved["agents"][0]["budget_s"] == 0.0  # majority learns nothing


def test_majority_accuracy_is_the_majority_share_of_held_out_frames(bench, dataset):
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.torch import split_episodes

    _, result = bench
    ds = load_dataset(dataset)
    train_ids, val_ids = split_episodes(ds, val_fraction=0.2, seed=SEED)
    train_y = np.concatenate([np.asarray(ds[i].actions) for i in train_ids])
    val_y = np.concatenate([np.asarray(ds[i].actions) for i in val_ids])
    majority = np.bincount(train_y, minlength=ds.action_map.n).argmax()
    row = result["agents"][0]
    assert row["agent"] == "majority"
    assert row["offline"]["accuracy"] == pytest.approx(float(np.mean(val_y == majority)))
    # Every prediction lands in the majority column of the confusion matrix.
    conf = np.asarray(row["offline"]["confusion"])
    assert conf[:, majority].sum() == len(val_y)


def test_online_returns_are_those_of_the_game(bench, dataset):
    """Majority's online returns equal an independent run of its constant action."""
    from bc_gym.agents import load_agent
    from bc_gym.evaluation import evaluate

    cfg, result = bench
    agent = load_agent(cfg.results / "runs" / "majority")
    action = agent.act(np.zeros(agent.obs_shape, np.uint8))
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=MAX_STEPS)
    expected = evaluate(lambda env, obs: action, env, cfg.online_seeds)
    assert result["agents"][0]["online"]["returns"] == pytest.approx(expected.returns)


def test_cli_writes_results(dataset, tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(
        app,
        ["bench", str(dataset), "--agents", "majority,random", "--seeds", "1",
         "--max-steps", "20", "--results", str(out), "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "| majority |" in res.output and "Machine: " in res.output
    saved = json.loads((out / "results.json").read_text())
    assert [r["agent"] for r in saved["agents"]] == ["majority", "random"]
    assert saved["online_env"]["env_id"] == "bc_gym/HighwayRacer-v0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "bc_gym/HighwayRacer-v0", "--title", "x"], "give --env ID or --title TEXT"),
        (["--agents", "cnn-bc,majority"], "give a budget in seconds (--budget)"),
        (["--agents", "majorty"], "unknown agents ['majorty']"),
        (["--agents", "majority", "--set", "cnn-bc.hidden=8"], "expected AGENT.KEY=VALUE"),
        (["--agents", "cnn-bc", "--budget", "1", "--set", "cnn-bc.depth=3"], "expected KEY=VALUE"),
    ],
)
def test_cli_rejects_bad_options(dataset, tmp_path, args, message):
    res = CliRunner().invoke(app, ["bench", str(dataset), "--results", str(tmp_path), *args])
    assert res.exit_code != 0
    assert message in " ".join(res.output.split())


def test_config_errors_name_the_value():
    with pytest.raises(ValueError, match=re.escape("give exactly one of env_id and title")):
        BenchConfig(datasets=["d"], agents=("random",), env_id=None)
    with pytest.raises(ValueError, match=re.escape("launch_game=True needs title")):
        BenchConfig(datasets=["d"], agents=("random",), launch_game=True)
    with pytest.raises(ValueError, match=re.escape("agents lists a name twice")):
        BenchConfig(datasets=["d"], agents=("random", "random"))


def test_suite_needs_a_source_checkout(tmp_path):
    with pytest.raises(BcGymError, match=re.escape("the benchmark suite needs a source checkout")):
        run_suite(root=tmp_path)


@pytest.mark.x11
def test_live_window_through_screen_env(dataset, xvfb, tmp_path):
    """The built-in game's window, started per agent, played through ScreenEnv."""
    from bc_gym.games.highway.window import TITLE

    cfg = BenchConfig(datasets=[dataset], agents=("majority",), seeds=1, env_id=None,
                      title=TITLE, launch_game=True, max_steps=30, results=tmp_path,
                      seed=SEED, progress=False)  # fmt: skip
    row = run_bench(cfg)["agents"][0]["online"]
    assert row["episodes"] == 1 and 0 < row["mean_steps"] <= 30
    assert row["control_hz"] > 5  # measured by ScreenEnv, live
    assert row["obs_age_p50_ms"] > 0
    md = (tmp_path / "results.md").read_text()
    assert f"live window {TITLE!r} (ScreenEnv, 30 Hz)" in md


def test_suite_runs_python_m_benchmarks_from_the_checkout(capfd):
    """An unknown name makes ``python -m benchmarks`` exit 2 at once: the call itself is real."""
    assert run_suite(names=["no-such-benchmark"]) == 2
    assert "unknown benchmark(s) ['no-such-benchmark']" in capfd.readouterr().err
