"""The agent protocol's option handling (benchmarks/protocol.py), without training."""

import argparse
import dataclasses
import re

import pytest

from tests.utils import load_benchmark

pytest.importorskip("torch")


P = load_benchmark("protocol", "bc_gym_benchmarks_protocol")


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    P.add_options(p)
    return p.parse_args(list(argv))


def test_set_accepts_str_int_float_and_bool_values_of_agent_and_training_options():
    args = _args("--set", "cnn-bc.n_stack=2", "--set", "cnn-bc.dropout=0.5", "--set",
                 "cnn-bc.mirror=", "--set", "latent-gpt.sample_latents=False", "--set",
                 "recon=edge", "--set", "cnn-bc.lr=3e-4", "--set", "latent-gpt.patience=5",
                 "--set", "state-mlp.mirrored=no", "--set", "state-mlp.updates=9")  # fmt: skip
    setup = P.setup_from_options(args, 20)
    configs, train = P.agent_options(args, ["latent-gpt", "cnn-bc"], setup)
    cnn, gpt, ref = configs["cnn-bc"], configs["latent-gpt"], configs[P.REFERENCE]
    assert cnn.n_stack == 2 and cnn.dropout == 0.5 and cnn.mirror == ""
    assert gpt.sample_latents is False and gpt.recon == "edge"  # unprefixed: latent-gpt
    assert gpt.mirror == "left:right"  # --mirror reaches agents with a mirror option
    assert train["cnn-bc"] == {"epochs": 30, "steps_per_epoch": 250, "patience": 0, "lr": 3e-4}
    assert train["latent-gpt"]["patience"] == 5
    assert ref == P.ReferenceConfig(updates=9, mirrored=False)
    assert P.variant_label(args).startswith("cnn-bc.n_stack=2, cnn-bc.dropout=0.5")
    assert P.variant_label(_args("--variant", "aug")) == "aug"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("cnn-bc.n_stack=two", "--set cnn-bc.n_stack=two: expected a int value like 4"),
        ("latent-gpt.sample_latents=maybe", "expected a bool value like True"),
        ("cnn-bc.frames=3", "cnn-bc has no option 'frames'; expected one of ["),
        ("majority.epochs=3", "majority has no option 'epochs'"),
        ("cnn-bc.time_budget_s=60", "cnn-bc has no option 'time_budget_s'"),
        ("cnn.n_stack=3", "expected [AGENT.]KEY=VALUE with AGENT one of ["),
    ],
)
def test_bad_set_options_name_the_value_and_the_fix(item, message):
    args = _args("--set", item)
    setup = P.setup_from_options(args, 20)
    with pytest.raises(ValueError, match=re.escape(message)):
        P.agent_options(args, ["cnn-bc", "majority"], setup)


def test_training_seeds_and_tiny_defaults():
    assert P.seeds_option(_args()) == [0, 1, 2]
    assert P.seeds_option(_args("--seed", "4")) == [4]
    assert P.seeds_option(_args("--tiny")) == [0]
    assert P.seeds_option(_args("--train-seeds", "5, 7")) == [5, 7]
    with pytest.raises(ValueError, match=re.escape("comma-separated integers like 0,1,2")):
        P.seeds_option(_args("--train-seeds", "a,b"))
    setup = P.setup_from_options(_args(), 20)
    assert setup.seeds == list(range(10_000, 10_050)) and setup.max_steps == 1000
    tiny = P.setup_from_options(_args("--tiny"), 4)
    assert (tiny.eval_seeds, tiny.max_steps) == (2, 60)
    with pytest.raises(ValueError, match=re.escape("episodes must be >= 2")):
        P.Setup(episodes=1)


def test_job_key_changes_with_every_setting_that_decides_the_result(tmp_path):
    setup = P.Setup()
    job = P.make_jobs(["cnn-bc"], [0], setup, tmp_path, {"cnn-bc": P.default_config(
        "cnn-bc", setup)}, {"cnn-bc": {"epochs": 30}})[0]  # fmt: skip
    assert job.out == tmp_path / "cnn-bc-seed0" and job.watch
    assert job.key() == dataclasses.replace(job).key()
    others = [
        dataclasses.replace(job, seed=1),
        dataclasses.replace(job, setup=dataclasses.replace(setup, eval_seeds=20)),
        dataclasses.replace(job, train={"epochs": 31}),
        dataclasses.replace(job, config=dataclasses.replace(job.config, n_stack=2)),
    ]
    assert all(other.key() != job.key() for other in others)
    assert job.key()["code"] == P.code_digest()
    assert P.cached(job) is None  # nothing run yet
