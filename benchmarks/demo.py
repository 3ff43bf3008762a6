"""The demo's live table (record -> train -> play through the screen), for the README.

    .venv/bin/python -m benchmarks.demo                  # the default demo (~25 min on 2 cores)
    .venv/bin/python -m benchmarks.demo --quick          # ~3 min
    .venv/bin/python -m benchmarks.demo --game runner    # the Runner page in Chromium (~40 min)

Runs ``bc_gym.demo.run_demo``, writes its table to ``benchmarks/results/demo.md`` and its GIF
of the lead agent driving to ``docs/img/agent_driving.gif`` (the README shows both).
``--game runner`` runs ``bc_gym.demo_runner.run_runner_demo`` (10 minutes of recording) and
writes ``benchmarks/results/demo-runner.md`` (the README's ``bench:demo-runner`` block).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from bc_gym.cli import sigterm_exits
from bc_gym.demo import GIF, DemoConfig, run_demo
from bc_gym.demo_runner import RunnerDemoConfig, run_runner_demo
from benchmarks.machine import write_result

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--game", choices=("highway", "runner"), default="highway", help="the game")
parser.add_argument("--quick", action="store_true", help="the short demo")
parser.add_argument("--out", type=Path, default=None, help="demo output (out/bench-demo[-runner])")
parser.add_argument("--no-write", action="store_true", help="print only")
args = parser.parse_args()

sigterm_exits()  # a killed benchmark stops its windows and Xvfb too
t0 = time.monotonic()
if args.game == "runner":
    out = args.out or Path("out/bench-demo-runner")
    table = run_runner_demo(RunnerDemoConfig(out=out, quick=args.quick))
else:
    out = args.out or Path("out/bench-demo")
    table = run_demo(DemoConfig(out=out, quick=args.quick))
minutes = (time.monotonic() - t0) / 60
command = "python -m benchmarks.demo" + (" --game runner" if args.game == "runner" else "")
command += " --quick" if args.quick else ""
if not args.no_write:
    name = "demo-runner" if args.game == "runner" else "demo"
    write_result(name, f"{table}\n\nWhole demo: {minutes:.1f} min.", command)
    gif = out / GIF
    if args.game == "highway" and gif.exists():
        img = Path(__file__).resolve().parent.parent / "docs" / "img" / gif.name
        shutil.copyfile(gif, img)
        print("wrote", img)
