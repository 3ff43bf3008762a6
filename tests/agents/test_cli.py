import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bc_gym.cli import app

pytestmark = pytest.mark.train


def test_train_and_play_from_the_command_line(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["train", "cnn-bc", str(tiny_dataset), "-o", str(run), "--epochs", "1",
         "--steps-per-epoch", "2", "--batch-size", "8", "--quiet", "--set", "hidden=16",
         "--set", "channels=[8, 8, 8]"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "trained CNNBCAgent" in res.output
    res = runner.invoke(
        app,
        ["play", str(run), "--env", "bc_gym/HighwayRacer-v0", "--episodes", "1",
         "--max-steps", "10"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "episode 0: return" in res.output and "control rate" in res.output
    assert "10 steps, ended by --max-steps 10" in res.output, res.output


def test_unknown_set_key_is_rejected(tiny_dataset, tmp_path):
    res = CliRunner().invoke(
        app, ["train", "cnn-bc", str(tiny_dataset), "-o", str(tmp_path), "--set", "depth=3"]
    )
    assert res.exit_code != 0
    assert "expected KEY=VALUE" in res.output


@pytest.mark.slow
def test_torchrun_two_processes(tiny_dataset, tmp_path):
    """DDP with gloo on CPU: 2 processes train one tiny latent GPT; rank 0 writes the run."""
    import socket

    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    torchrun = Path(sys.executable).with_name("torchrun")
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [str(torchrun), "--nproc-per-node", "2", "--master-port", str(port), "-m", "bc_gym.cli",
           "train", "latent-gpt", str(tiny_dataset), "-o", str(run), "--epochs", "1",
           "--steps-per-epoch", "2", "--batch-size", "8", "--quiet", "--threads", "1",
           "--set", "context=4", "--set", "latent_dim=8", "--set", "vae_channels=[8,8,16,16]",
           "--set", "vae_epochs=1", "--set", "vae_steps_per_epoch=2", "--set", "vae_batch_size=8",
           "--set", "n_layer=1", "--set", "n_embd=16", "--set", "n_head=2"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert (run / "model.safetensors").is_file() and (run / "vae" / "vae_metrics.csv").is_file()
    assert res.stdout.count("trained LatentGPTAgent") == 1
