"""Run every benchmark and refresh the README's tables.

    .venv/bin/python -m benchmarks                 # all of them (about 5 hours on 2 cores)
    .venv/bin/python -m benchmarks agents learning_curve   # the agent protocol (~3.5 hours)
    .venv/bin/python -m benchmarks game realtime   # some of them
    .venv/bin/python -m benchmarks --readme-only   # only copy results/*.md into README.md

Each script writes ``benchmarks/results/NAME.md``. The README holds each table between
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; this command replaces what is between
the markers with the file's content, so no figure in the README is ever typed by hand.
The agent benchmarks keep each job's result in ``runs/`` (``--out``): run the same command
again after an interruption and it resumes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def cnn_bc_lever(name: str, variant: str, *sets: str, reference: bool) -> tuple[str, list[str]]:
    """A protocol run of cnn-bc with ``sets`` (its options), results ``name``, runs in runs/NAME.

    ``reference``: also train the exact-state MLP reference row (else ``--no-reference``).
    """
    args = ["--agents", "cnn-bc"] + ([] if reference else ["--no-reference"])
    args += [x for opt in sets for x in ("--set", f"cnn-bc.{opt}")]
    return "agents", args + ["--variant", variant, "--name", name, "--out", f"runs/{name}"]


# results name -> (script module in benchmarks/, its arguments) for the published run
SUITE: dict[str, tuple[str, list[str]]] = {
    "game": ("game", []),
    "dataset_io": ("dataset_io", []),
    "realtime": ("realtime", []),
    "recorder": (
        "recorder",
        ["--fps", "30,60,120,180", "--compressions", "gzip", "--seconds", "60"],
    ),
    # The agent protocol: 3 training seeds x 50 unseen seeds per agent, 2 jobs at a time;
    # --out keeps each job's result, so a rerun after an interruption resumes.
    "agents": ("agents", ["--out", "runs/agents"]),
    "agents-100-episodes": (
        "agents",
        ["--agents", "latent-gpt,cnn-bc", "--episodes", "100", "--name", "agents-100-episodes"]
        + ["--out", "runs/agents-100-episodes"],
    ),
    # Levers, one protocol run each (the README's Agents section).
    "agents-cnn-bc": (
        "agents",
        ["--agents", "cnn-bc", "--name", "agents-cnn-bc", "--out", "runs/agents-cnn-bc"],
    ),
    **{
        name: cnn_bc_lever(name, variant, *sets, reference=reference)
        for name, variant, sets, reference in (
            (
                "agents-cnn-bc-shift-ema",
                "shift 4 px + EMA 0.999",
                ["augment_pad=4", "ema_decay=0.999"],
                False,
            ),
            ("agents-cnn-bc-ema", "EMA weights 0.999", ["ema_decay=0.999"], False),
            (
                "agents-cnn-bc-cw0",
                "unweighted cross-entropy (class_weight_power=0)",
                ["class_weight_power=0"],
                True,
            ),
            (
                "agents-cnn-bc-cw1",
                "balanced cross-entropy (class_weight_power=1)",
                ["class_weight_power=1.0"],
                False,
            ),
            (
                "agents-cnn-bc-diff",
                "frame differences at the input (motion=diff)",
                ["motion=diff"],
                False,
            ),
            (
                "agents-cnn-bc-norm",
                "inputs standardised per channel (normalize=dataset)",
                ["normalize=dataset"],
                False,
            ),
            (
                "agents-cnn-bc-chunk4",
                "action chunks of 4 steps with temporal ensembling (chunk=4)",
                ["chunk=4"],
                False,
            ),
            (
                "agents-cnn-bc-spacing2",
                "frames stacked 2/30 s apart (spacing_s=0.0667: 0.2 s of motion per stack)",
                ["spacing_s=0.0667"],
                False,
            ),
            # IMPALA's encoder costs ~6x the default's time per update here (0.43 against
            # 0.074 s per batch of 128 on one thread), so it gets about the default's compute
            # (1,250 updates) rather than its 7,500 updates (~1.5 h per training).
            (
                "agents-cnn-bc-impala",
                "IMPALA encoder, 5 epochs x 250 updates",
                ["encoder=impala", "epochs=5"],
                False,
            ),
        )
    },
    # The learning curve's 100-episode point was still improving at its last update: the same
    # data, twice the updates (~30 min per training with two side by side on 2 cores).
    "agents-cnn-bc-100-long": (
        "agents",
        ["--agents", "cnn-bc", "--episodes", "100", "--epochs", "60"]
        + ["--variant", "100 episodes, 60 epochs x 250 updates", "--name", "agents-cnn-bc-100-long"]
        + ["--out", "runs/agents-cnn-bc-100-long"],
    ),
    "agents-latent-gpt": (
        "agents",
        ["--agents", "latent-gpt", "--no-reference", "--name", "agents-latent-gpt"]
        + ["--out", "runs/agents-latent-gpt"],
    ),
    "learning_curve": ("learning_curve", ["--agents", "cnn-bc"]),
    "agents-vae-ablation": (
        "agents",
        ["--agents", "", "--vae-ablation", "--name", "agents-vae-ablation"],
    ),
    "bc_ceiling": ("bc_ceiling", []),
    "demo": ("demo", []),
    "demo-runner": ("demo", ["--game", "runner"]),
    "runner_lead": ("runner_lead", []),
    # The Runner clone's training-seed spread, per cnn-bc option (4 training seeds, keys 1 late)
    **{
        f"runner_{name}": (
            "runner_lead",
            [
                "--leads",
                "0",
                "--train-seeds",
                "0,1,2,3",
                "--delays",
                "1",
                "--name",
                f"runner_{name}",
            ]
            + [x for opt in sets for x in ("--set", opt)],
        )
        for name, sets in (
            ("norm", ["normalize=dataset"]),
            ("diff", ["motion=diff"]),
            ("diff_norm", ["motion=diff", "normalize=dataset"]),
        )
    },
}


def refresh_readme() -> list[str]:
    """Copy each results/NAME.md between the README's bench:NAME markers; return the names."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    done = []
    for path in sorted(RESULTS.glob("*.md")):
        name = path.stem
        pattern = re.compile(
            rf"(<!-- bench:{re.escape(name)} -->\n).*?(<!-- /bench:{re.escape(name)} -->)", re.S
        )
        # The README has its own headings: drop comments and H1 titles, demote the rest.
        body = "\n".join(
            re.sub(r"^#{2,} ", "#### ", line)
            for line in path.read_text().splitlines()
            if not line.startswith("<!--") and not line.startswith("# ")
        )
        text, n = pattern.subn(lambda m, b=body: m.group(1) + b.strip() + "\n" + m.group(2), text)
        if n:
            done.append(name)
    readme.write_text(text)
    return done


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default), then refresh the README."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0],
        epilog="benchmarks: " + ", ".join(SUITE),
    )  # fmt: skip
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="benchmarks to run (default: all of them, about 5 hours)")  # fmt: skip
    parser.add_argument(
        "--readme-only", action="store_true", help="run nothing: copy results/*.md into README"
    )
    args = parser.parse_args(argv)
    names = args.names or list(SUITE)
    readme_only = args.readme_only
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; expected some of {list(SUITE)}")
    failed = []
    if not readme_only:
        for name in names:
            print(f"== benchmarks.{name}", flush=True)
            module, args = SUITE[name]
            rc = subprocess.call([sys.executable, "-m", f"benchmarks.{module}", *args], cwd=ROOT)
            if rc != 0:
                failed.append(name)
    print("README tables refreshed:", ", ".join(refresh_readme()) or "none")
    if failed:
        print("FAILED:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
