"""``bc-gym train`` accepts any recording: one long episode, a 600x150 window, no validation.

Recordings are written with the dataset writer (a block crossing a dark 600x150 screen, the
key follows its position), trained for a few steps through the CLI, then played: on frames of
the recorded size, resized by the function training used.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from bc_gym.cli import app
from tests.utils import SEED

pytestmark = pytest.mark.train

SHAPE = (150, 600, 3)  # the third-party game's window
AGENT_HW = (48, 96)  # auto: long side 96, short side 24 -> 32 -> at least 48
TITLE = "Wide Runner (bc-gym test)"
TINY = {
    "cnn-bc": ["--set", "hidden=16", "--set", "channels=[8, 8, 8]"],
    "latent-gpt": ["--set", "context=4", "--set", "latent_dim=8",
                   "--set", "vae_channels=[8, 8, 16, 16]", "--set", "vae_epochs=1",
                   "--set", "vae_steps_per_epoch=2", "--set", "vae_batch_size=8",
                   "--set", "n_layer=1", "--set", "n_embd=16", "--set", "n_head=2"],
}  # fmt: skip


def scene(x: int, shape: tuple[int, int, int] = SHAPE) -> np.ndarray:
    """A dark screen with a bright block whose left edge is at ``x`` (wrapping)."""
    h, w, _ = shape
    frame = np.full(shape, 30, np.uint8)
    left = x % w
    frame[h // 4 : h // 2, left : left + w // 20] = (230, 200, 40)
    return frame


def write_recording(
    path: Path,
    episodes: int = 1,
    steps: int = 90,
    shape: tuple[int, int, int] = SHAPE,
    fps: float = 30.0,
    jitter: float = 0.0,
) -> Path:
    """A screen recording of ``episodes`` x ``steps`` (keys: up when the block is right)."""
    from bc_gym.actions import ActionMap
    from bc_gym.datasets import DatasetWriter

    amap = ActionMap.from_names(["noop", "up", "down"])
    rng = np.random.default_rng(SEED)
    with DatasetWriter(path, action_map=amap, fps=fps, obs_shape=shape, source="recorder",
                       game_id=TITLE, region=(10, 20, shape[1], shape[0])) as writer:  # fmt: skip
        for _ in range(episodes):
            x, t = int(rng.integers(0, shape[1])), 0.0
            writer.begin_episode(scene(x, shape), t0=t)
            for _ in range(steps):
                action = 1 if x % shape[1] > shape[1] // 2 else 2 if x % shape[1] < 60 else 0
                x += 11
                t += (1 + jitter * rng.uniform(-1, 1)) / fps
                writer.step(action, scene(x, shape), timestamp=t)
            writer.end_episode()
    return path


@pytest.fixture(scope="module")
def one_wide_episode(tmp_path_factory) -> Path:
    """One long episode of 600x150 frames (what `bc-gym record` made of the user's game)."""
    return write_recording(tmp_path_factory.mktemp("wide") / "run1")


def train(agent: str, data: Path, out: Path, *extra: str) -> dict:
    res = CliRunner().invoke(
        app,
        ["train", agent, str(data), "-o", str(out), "--epochs", "2", "--steps-per-epoch", "2",
         "--batch-size", "8", "--threads", "1", "--quiet", *TINY[agent], *extra],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return json.loads((out / "config.json").read_text())


# The split
def test_time_blocks_keep_every_training_window_off_the_validation_frames(tmp_path):
    from bc_gym.agents.data import open_datasets, split, window_indices

    two = write_recording(tmp_path / "2", episodes=2, steps=120, shape=(16, 64, 3), jitter=0.4)
    one = write_recording(tmp_path / "1", episodes=1, steps=120, shape=(16, 64, 3), jitter=0.4)
    cases = [(two, 2, 0.05), (two, 2, 0.2), (one, 1, 0.2), (one, 1, 0.5)]
    for data, episodes, val_fraction in cases:
        ds = open_datasets([data], (48, 64))[0]
        for n_stack, spacing in ((1, 0.0), (4, 1 / 30), (8, 2 / 30), (3, 0.25)):
            span = (n_stack - 1) * spacing
            (view,), ((train, val),) = split([ds], val_fraction, SEED, span_s=span)
            assert len(val) == len(train) == episodes  # each episode in two blocks
            for e in range(episodes):
                ts = np.asarray(ds[e].timestamps)
                (_, a, s1), (_, v0, n) = (view.blocks[i] for i in (train[e], val[e]))
                assert (a, n) == (0, len(ds[e])) and n - v0 == max(1, round(val_fraction * n))
                # Training windows (the agent's stacks, in base frame indices) end before v0...
                tr = window_indices(ts[: s1 + 1], n_stack, max(spacing, 1e-9), s1)
                assert tr.max() < v0
                # ...and a validation window, even one reading the frames before its block,
                # touches no training frame: the gap is the agent's context.
                va = window_indices(ts, n_stack, max(spacing, 1e-9), n)[v0:]
                assert va.min() > s1, (val_fraction, n_stack, spacing)


def test_enough_episodes_keep_the_whole_episode_split(tmp_path):
    from bc_gym.agents.data import split
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.torch import split_episodes

    ds = load_dataset(write_recording(tmp_path / "d", episodes=10, steps=5, shape=(16, 16, 3)))
    (same,), ((train, val),) = split([ds], 0.2, SEED, span_s=0.5)
    assert same is ds and (train, val) == split_episodes(ds, 0.2, SEED)


def test_too_short_a_recording_says_what_to_do(tmp_path):
    from bc_gym.agents.data import open_datasets, split
    from bc_gym.errors import DatasetError

    ds = open_datasets([write_recording(tmp_path / "d", steps=6, shape=(48, 48, 3))])
    with pytest.raises(DatasetError, match="nothing left to train on.*lower --val-fraction"):
        split(ds, 0.5, SEED, span_s=1.0)


# Training and playing through the CLI
class Replay(gym.Env):
    """A recorded episode played back as an env: frames of the recorded size, ``info["t"]``."""

    def __init__(self, episode) -> None:
        self.frames = np.asarray(episode.observations)
        self.times = np.asarray(episode.timestamps)
        self.observation_space = gym.spaces.Box(0, 255, self.frames.shape[1:], np.uint8)
        self.action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.i = 0
        return self.frames[0], {"t": float(self.times[0])}

    def step(self, action):
        self.i += 1
        done = self.i == len(self.frames) - 1
        return self.frames[self.i], 0.0, False, done, {"t": float(self.times[self.i])}


@pytest.mark.parametrize("agent", ["cnn-bc", "latent-gpt"])
def test_one_wide_episode_trains_and_the_run_plays_its_frames(agent, one_wide_episode, tmp_path):
    from bc_gym.agents import load_agent
    from bc_gym.agents.data import open_datasets, window_indices
    from bc_gym.datasets import load_dataset
    from bc_gym.wrappers import ResizeFrames, TimedFrameStack

    config = train(agent, one_wide_episode, tmp_path / "run")
    assert config["obs_shape"] == [*AGENT_HW, 3]
    assert config["recorded_from"] == {
        "window_title": TITLE, "region": [10, 20, 600, 150], "fps": 30.0,
        "frame_shape": list(SHAPE),
    }  # fmt: skip
    stage = "gpt" if agent == "latent-gpt" else "cnn"
    rows = (tmp_path / "run" / f"{stage}_metrics.csv").read_text().splitlines()
    assert "val_f1" in rows[0] and len(rows) == 3  # validated on the held-out time block
    # Played on frames of the recorded size (play's wrappers: stack, then resize), the agent
    # sees exactly the pixels training read from the dataset.
    run = load_agent(tmp_path / "run")
    ds = load_dataset(one_wide_episode)
    env = ResizeFrames(TimedFrameStack(Replay(ds[0]), run.n_stack, run.spacing_s), AGENT_HW)
    trained_on = open_datasets([ds])[0][0]
    win = window_indices(np.asarray(ds[0].timestamps), run.n_stack, run.spacing_s, len(ds[0]))
    obs, _ = env.reset()
    for j in range(len(ds[0])):
        assert obs.shape == (run.n_stack, *AGENT_HW, 3)
        np.testing.assert_array_equal(obs, trained_on.observations[win[j]])
        obs, _, _, truncated, _ = env.step(run.act(obs))
    assert truncated


def test_val_fraction_zero_trains_on_everything_and_keeps_the_last_weights(
    one_wide_episode, tmp_path
):
    train("cnn-bc", one_wide_episode, tmp_path / "run", "--val-fraction", "0")
    header = (tmp_path / "run" / "cnn_metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,steps,time_s,train_loss"
    saved = load_file(str(tmp_path / "run" / "model.safetensors"))
    last = load_file(str(tmp_path / "run" / "cnn_state.safetensors"))  # after the last epoch
    for name, tensor in saved.items():
        assert np.array_equal(tensor.numpy(), last[f"model.{name}"].numpy()), name


def test_latent_gpt_trains_without_validation(one_wide_episode, tmp_path):
    train("latent-gpt", one_wide_episode, tmp_path / "run", "--val-fraction", "0")
    assert "val_f1" not in (tmp_path / "run" / "gpt_metrics.csv").read_text()
    assert (tmp_path / "run" / "vae" / "reconstructed.png").is_file()


def test_obs_size_option_and_recipes_keep_their_size(tiny_dataset, one_wide_episode, tmp_path):
    from bc_gym.agents.data import open_datasets

    assert open_datasets([tiny_dataset])[0].obs_shape == (64, 64, 3)  # the benchmark frames
    config = train("cnn-bc", one_wide_episode, tmp_path / "run", "--obs-size", "128x64")
    assert config["obs_shape"] == [64, 128, 3]


# Live: `play` captures the window at the recorded size and resizes like training
WINDOW = """
import numpy as np, pygame
pygame.display.init()
screen = pygame.display.set_mode((600, 150))
pygame.display.set_caption({title!r})
x = 0
while not pygame.event.get(pygame.QUIT):  # SDL turns SIGTERM into QUIT
    frame = np.full((600, 150, 3), 30, np.uint8)  # (W, H, C), as surfarray wants it
    frame[x % 600 : x % 600 + 30, 37:75] = (230, 200, 40)
    pygame.surfarray.blit_array(screen, frame)
    pygame.display.flip()
    x += 11
    pygame.time.wait(33)
"""


@pytest.mark.x11
def test_play_env_captures_the_window_at_the_recorded_size(xvfb, one_wide_episode, tmp_path):
    from bc_gym.agents import load_agent
    from bc_gym.bench import agent_env
    from bc_gym.imaging import resize
    from bc_gym.screen.windows import wait_for_window
    from bc_gym.wrappers import ResizeFrames

    train("cnn-bc", one_wide_episode, tmp_path / "run")
    code = WINDOW.format(title=TITLE)
    proc = subprocess.Popen([sys.executable, "-c", code], env={**_env(), "DISPLAY": xvfb.display})
    try:
        wait_for_window(TITLE, 20, proc, what="the test window", poll_s=0.2)
        agent = load_agent(tmp_path / "run")
        env = agent_env(agent, title=TITLE, fps=15.0)
        try:
            assert isinstance(env, ResizeFrames)
            assert env.unwrapped.observation_space.shape == SHAPE  # captured as recorded
            obs, _ = env.reset()
            assert obs.shape == (agent.n_stack, *AGENT_HW, 3)
            for _ in range(3):
                obs, *_ = env.step(agent.act(obs))
            frame = env.unwrapped.frames_at([time.monotonic()])[0][1]  # a full-size grab
            assert frame.shape == SHAPE
            assert np.array_equal(env.observation(frame[None])[0], resize(frame, AGENT_HW))
        finally:
            env.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}


def test_bench_replays_the_held_out_time_block(one_wide_episode, tmp_path):
    from bc_gym.bench import BenchConfig, run_bench

    out = tmp_path / "bench"
    agents = ("majority", "random")
    result = run_bench(
        BenchConfig([one_wide_episode], agents, seeds=0, results=out, progress=False)
    )
    assert result["split"]["held_out"] == [[[0, 72, 90]]]  # the last 20% of the 90 steps
    assert result["split"]["held_out_frames"] == result["agents"][0]["offline"]["frames"] == 18
    assert "the last 0.2 of each episode, 1 time block(s)" in (out / "results.md").read_text()


def test_recorded_from_names_the_real_window_not_a_chosen_game_id(tmp_path):
    """``record --game-id NAME`` stores NAME as game_id; play must still find the window."""
    from bc_gym.actions import ActionMap
    from bc_gym.agents.data import recorded_from
    from bc_gym.datasets import DatasetWriter, load_dataset

    amap = ActionMap.from_names(["noop", "up"])
    opts = {"source": "recorder", "game_id": "my-game", "region": (1, 2, 16, 16)}
    with DatasetWriter(
        tmp_path / "d", action_map=amap, fps=30.0, obs_shape=(16, 16, 3), **opts
    ) as w:
        w.metadata["recording"] = {"title": "The Real Window"}
        w.begin_episode(np.zeros((16, 16, 3), np.uint8), t0=0.0)
        w.step(1, np.zeros((16, 16, 3), np.uint8), timestamp=1 / 30)
        w.end_episode()
    got = recorded_from([load_dataset(tmp_path / "d")])
    assert got["window_title"] == "The Real Window"
    assert got["region"] == [1, 2, 16, 16]
