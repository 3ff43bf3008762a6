"""The README's "Record your own game" commands, run as written, on the Chromium Runner page.

The bash block under that heading is parsed from ``README.md`` and each line runs through
``bash`` in a fresh folder (``.venv`` links to this checkout's venv, so ``.venv/bin/bc-gym``,
``data/run1`` and ``runs/...`` are the README's own relative paths). Only the window title
"My Game" becomes the Runner's, and the ``train`` line gets :data:`SHORT_TRAINING` (a test
cannot train for 15 minutes). A private Xvfb shows the page; the "person" is the page's
autopilot playing through real key events, with blunders so that games end; F8 (the README's
"click the game, F8 start") and F10 ("stop") are real key presses too. Nobody presses F9: the
recording must still come out as several episodes. The trained agent then plays the page,
and so does a ``random`` agent (the page's own score, from its title, is printed), and the
trained agent must jump on the recorded frames where the person jumped.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.utils import SEED

ROOT = Path(__file__).resolve().parents[1]
RUNNER_TITLE = "bc-gym Runner"
SHORT_TRAINING = ["--epochs", "6", "--steps-per-epoch", "200", "--val-fraction", "0",
                  "--threads", "2", "--quiet"]  # fmt: skip
"""Extra ``train`` options, the only change to a README line besides the title: 1,200 updates
on everything recorded instead of up to 30 full epochs. Fewer do not do: on the demo's Runner
recording cnn-bc sits at its class prior (noop) for its first ~300-600 updates
(``out/demo-runner/runs/cnn-bc/cnn_metrics.csv``), and 400 updates of a smaller network left it
there (both agent and random died at the first cactus)."""
RECORD_S = 60.0  # seconds of play recorded (several games: the "person" blunders now and then)


def readme_block() -> list[str]:
    """The commands of the bash block under "## Record your own game" (comments dropped)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Record your own game", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README: no ```bash block under 'Record your own game'"
    return [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def command(lines: list[str], verb: str) -> str:
    """The README line running ``bc-gym VERB`` (exactly one), with the Runner's title."""
    found = [ln for ln in lines if re.match(rf"\S*bc-gym {verb}\b", ln)]
    assert len(found) == 1, f"README: expected one `bc-gym {verb}` line, got {found}"
    return found[0].replace('"My Game"', shlex.quote(RUNNER_TITLE))


def words(line: str) -> list[str]:
    return shlex.split(line, comments=True)


class Person:
    """The autopilot's expert with a person's habits: taps last 0.15 s, and every few
    seconds they look away (for 1.5 s) and lose the game.

    The expert alone releases Up as soon as the runner leaves the ground (one game step,
    often between two 30 fps key samples); a person's tap lasts 0.1-0.2 s.
    """

    TAP_S = 0.15

    def __init__(self, every_s: float = 7.0) -> None:
        from bc_gym.games.runner import ScriptedExpert

        self.expert = ScriptedExpert(lead=2.0)
        self.rng = np.random.default_rng(SEED)
        self.every_s = every_s
        self.away_until = 0.0
        self.next_away = time.monotonic() + every_s * self.rng.uniform(0.5, 1.5)
        self.up_until = 0.0

    def keys(self, scene) -> set[str]:
        now = time.monotonic()
        if now >= self.next_away:
            self.away_until = now + 1.5
            self.next_away = now + self.every_s * self.rng.uniform(0.5, 1.5)
        if now < self.away_until:
            return set()
        keys = self.expert.keys(scene)
        if "up" in keys and now >= self.up_until:
            self.up_until = now + self.TAP_S
        return keys | {"up"} if now < self.up_until else keys


class ScoreWatch:
    """Polls the page's title; the final score of every game that starts and ends meanwhile."""

    def __init__(self, page) -> None:
        self.page = page
        self.scores: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ScoreWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        last = self.page.status()
        clean = False  # only games seen from their start count
        while not self._stop.is_set():
            st = self.page.status()
            if st.games > last.games:
                if clean:
                    self.scores.append(st.score)
                clean = False
            elif st.score < last.score:  # a new game started
                clean = True
            last = st
            time.sleep(0.02)


def run_line(line: str, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run one README line through bash; it must exit 0. Returns its stdout and stderr."""
    res = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)  # fmt: skip
    assert res.returncode == 0, f"`{line}` exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


def record_as_a_person(line: str, page, cwd: Path, env: dict[str, str]) -> str:
    """Run the README's ``record`` line while the "person" plays; returns its output."""
    from bc_gym.games.runner.screen import run_autopilot

    log_path = cwd / "record.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(["bash", "-c", line], cwd=cwd, env=env, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while "Hotkeys:" not in log_path.read_text():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "record did not start within 30 s"
                time.sleep(0.2)
            time.sleep(1.0)  # its key listener is up
            # "click the game, F8 start/pause, play several games, F10 stop"
            x, y = page.window.left + page.window.width // 2, page.window.top + 30
            xdo = ["xdotool", "mousemove", "--sync", str(x), str(y), "click", "1"]
            subprocess.run(xdo, env=env, check=True)
            if "--start-paused" in words(line):
                subprocess.run(["xdotool", "key", "F8"], env=env, check=True)
            run_autopilot(page.window, Person(), seconds=RECORD_S)
            subprocess.run(["xdotool", "key", "F10"], env=env, check=True)
            assert proc.wait(60) == 0, log_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return log_path.read_text()


@pytest.mark.x11
@pytest.mark.chromium
@pytest.mark.train
@pytest.mark.slow
def test_the_readme_commands_record_train_and_play_the_runner_page(xvfb, tmp_path):
    from bc_gym.games.runner.browser import RunnerPage

    lines = [ln.replace('"My Game"', shlex.quote(RUNNER_TITLE)) for ln in readme_block()]
    verbs = [words(ln)[1] for ln in lines]
    assert verbs.count("record") == verbs.count("train") == verbs.count("play") == 1, lines
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {**os.environ, "DISPLAY": xvfb.display, "PYTHONUNBUFFERED": "1"}
    scores: dict[str, list[int]] = {}
    with RunnerPage(seed=SEED) as page:
        for line, verb in zip(lines, verbs, strict=True):
            args = words(line)
            if verb == "record":
                assert "--title" in args and "--size" not in args, line
                games_before = page.status().games
                out = record_as_a_person(line, page, tmp_path, env)
                games = page.status().games - games_before
                episodes = int(re.search(r"Done: (\d+) episode", out).group(1))
                print(out)
                # Several games, and an episode each, without F9.
                assert games >= 3 and episodes >= games, out
            elif verb == "train":
                run_line(f"{line} {shlex.join(SHORT_TRAINING)}", tmp_path, env, 480)
                # The baseline: a random agent on the same data, played by the same line.
                agent_run = args[args.index("-o") + 1]
                random_line = line.replace(f"train {args[2]} ", "train random ", 1)
                random_line = random_line.replace(f"-o {agent_run}", "-o runs/random", 1)
                run_line(random_line, tmp_path, env, 60)
            elif verb == "play":
                for who, run in (("agent", agent_run), ("random", "runs/random")):
                    with ScoreWatch(page) as watch:
                        out = run_line(line.replace(agent_run, run, 1), tmp_path, env, 240)
                    assert len(re.findall(r"^episode \d+: ", out, re.M)) == 3, out
                    scores[who] = watch.scores
                    print(who, watch.scores, out)
            else:
                print(run_line(line, tmp_path, env, 60))
    assert scores["agent"] and scores["random"], scores
    print("page scores (agent vs random):", scores)
    # Did training learn the game? Offline, on the recorded frames (the same resize and time
    # spacing as play), the agent must jump where the person jumped. An agent stuck at its class
    # prior (400 updates did that) jumps nowhere. The live comparison with random play and the
    # expert, over 10 games, is the demo's benchmark (`python -m benchmarks.demo --game runner`):
    # a 4-minute test on 2 shared cores cannot train an agent that times its jumps reliably.
    from bc_gym.agents import load_agent
    from bc_gym.agents.data import open_datasets
    from bc_gym.bench import replay_actions

    agent = load_agent(tmp_path / agent_run)
    (ds,) = open_datasets([tmp_path / "data" / "run1"], agent.obs_shape[:2])
    y_true, y_pred = replay_actions(agent, [ds], [range(len(ds))])
    up = agent.action_map.from_keys({"up"})
    jumped = y_true == up
    assert jumped.sum() >= 10, "the person should have jumped in the recording"
    recall = float(np.mean(y_pred[jumped] == up))
    print(f"offline: jump recall {recall:.2f} over {int(jumped.sum())} frames")
    assert recall >= 0.5, (recall, scores)


# Bad inputs along the path: exit status 2 and one line on stderr, from the console script.
@pytest.fixture(scope="module")
def data_and_run(tmp_path_factory) -> tuple[Path, Path]:
    """A small recording (2 episodes of 48x64 frames) and a ``majority`` run trained on it."""
    from bc_gym.actions import ActionMap
    from bc_gym.datasets import DatasetWriter

    root = tmp_path_factory.mktemp("bad")
    amap = ActionMap.from_names(["noop", "up", "down"])
    with DatasetWriter(root / "data", action_map=amap, fps=30.0, obs_shape=(48, 64, 3)) as w:
        for _ in range(2):
            w.begin_episode(np.zeros((48, 64, 3), np.uint8))
            for a in [0, 1, 2] * 5:
                w.step(a, np.full((48, 64, 3), 40 * a, np.uint8))
            w.end_episode()
    run_line(f"{BC_GYM} train majority data -o run --quiet", root, dict(os.environ), 120)
    return root / "data", root / "run"


BC_GYM = str(Path(sys.executable).with_name("bc-gym"))
BAD_INPUTS = [
    ("record --title 'No Such Game' -o out", "No visible window with title containing 'No Such"),
    ("play run --title 'No Such Game'", "No visible window with title containing 'No Such"),
    ("play data", "data is not an agent checkpoint: config.json is missing"),
    ("train cnn-bc run -o out", "'run' is not a bc-gym dataset: it has no metadata.json"),
    ("train cnn-bc data -o out --obs-size 0x0", "actual value: 0x0 (WxH)"),
    ("record --region 5000,5000,100,100 -o out", "is not inside the screen, which is 1280x800"),
    ("play run --region 5000,5000,100,100", "is not inside the screen, which is 1280x800"),
    ("record --region 0,0,100,100 --keys left,jump -o out", "unknown key name(s) ['jump']"),
]  # fmt: skip


@pytest.mark.x11
@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_a_bad_input_on_the_path_is_one_line_with_status_2(args, message, data_and_run, xvfb):
    root = data_and_run[0].parent
    env = {**os.environ, "DISPLAY": xvfb.display}
    res = subprocess.run(["bash", "-c", f"{BC_GYM} {args}"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2, (args, res.stdout, res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, res.stderr)
    assert message in lines[0], (args, lines[0])
    assert not (root / "out").exists()


def test_play_finds_again_a_window_whose_title_shows_a_score(tmp_path):
    """The recorder keeps what ``--title`` matched; ``play RUN`` looks for that, not the
    full title of the moment ("bc-gym Runner | score 27 | ...", gone a second later)."""
    from bc_gym.actions import ActionMap
    from bc_gym.agents.data import recorded_from
    from bc_gym.datasets import DatasetWriter, load_dataset

    amap = ActionMap.from_names(["noop", "up"])
    with DatasetWriter(tmp_path / "d", action_map=amap, fps=30.0, obs_shape=(16, 16, 3),
                       source="recorder", game_id="bc-gym Runner | score 27") as w:  # fmt: skip
        w.metadata["recording"] = {"title": "bc-gym Runner | score 27", "title_match": "Runner"}
        w.begin_episode(np.zeros((16, 16, 3), np.uint8), t0=0.0)
        w.step(1, np.zeros((16, 16, 3), np.uint8), timestamp=1 / 30)
        w.end_episode()
    assert recorded_from([load_dataset(tmp_path / "d")])["window_title"] == "Runner"
