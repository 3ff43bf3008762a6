"""The demo's live table (record -> train -> play through the screen), for the README.

    .venv/bin/python -m benchmarks.demo            # the default demo (~15 min on 2 cores)
    .venv/bin/python -m benchmarks.demo --quick    # ~3 min

Runs ``bc_gym.demo.run_demo``, writes its table to ``benchmarks/results/demo.md`` and its GIF
of the latent GPT driving to ``docs/img/latent_gpt_driving.gif`` (the README shows both).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from bc_gym.cli import sigterm_exits
from bc_gym.demo import DemoConfig, run_demo
from benchmarks.machine import write_result

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="the ~3 minute demo")
parser.add_argument("--out", type=Path, default=Path("out/bench-demo"), help="demo output")
parser.add_argument("--no-write", action="store_true", help="print only")
args = parser.parse_args()

sigterm_exits()  # a killed benchmark stops its windows and Xvfb too
t0 = time.monotonic()
table = run_demo(DemoConfig(out=args.out, quick=args.quick))
minutes = (time.monotonic() - t0) / 60
command = "python -m benchmarks.demo" + (" --quick" if args.quick else "")
if not args.no_write:
    write_result("demo", f"{table}\n\nWhole demo: {minutes:.1f} min.", command)
    gif = args.out / "latent_gpt_driving.gif"
    if gif.exists():
        img = Path(__file__).resolve().parent.parent / "docs" / "img" / gif.name
        shutil.copyfile(gif, img)
        print("wrote", img)
